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
    from app.extensions import db
    from app.services import audit
    from app.wecom.client import WeComError, get_client

    userids = [u for u in dict.fromkeys(userids) if u]
    if not userids or not content:
        log.info("send_text_message: nothing to send (%d recipients)", len(userids))
        return {"sent": 0, "invalid": []}
    try:
        results = get_client().send_text(userids, content)
    except WeComError as err:
        db.session.rollback()
        audit.record("wecom.message", outcome="failed", detail={"recipients": len(userids), **err.to_detail()})
        db.session.commit()
        raise
    invalid = [u for r in results for u in (r.get("invaliduser") or "").split("|") if u]
    return {"sent": len(userids) - len(invalid), "invalid": invalid, "msgids": [r.get("msgid") for r in results]}
