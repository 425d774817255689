"""Notifications to staff through WeCom, sent off the request path on the `notify` queue.

    from app.services.notify import send_text_message
    send_text_message.delay(["ja01g01-worker"], "您有一条新工单")
"""

from __future__ import annotations

import logging

from app.jobs import job

log = logging.getLogger(__name__)


@job("notify")
def send_text_message(userids: list[str], content: str) -> dict:
    """Send a WeCom text message to these userids (batched ≤1000 per call); a WeCom error fails the job
    so RQ retries it with backoff."""
    from app.wecom.client import get_client

    userids = [u for u in dict.fromkeys(userids) if u]
    if not userids or not content:
        log.info("send_text_message: nothing to send (%d recipients)", len(userids))
        return {"sent": 0, "invalid": []}
    results = get_client().send_text(userids, content)
    invalid = [u for r in results for u in (r.get("invaliduser") or "").split("|") if u]
    return {"sent": len(userids) - len(invalid), "invalid": invalid, "msgids": [r.get("msgid") for r in results]}
