"""Notifications to staff through WeCom, sent off the request path on the `notify` queue.

    from app.services.notify import send_card_message, send_text_message
    send_card_message.delay(["ja01g01-worker"], "新工单待签收", "【工单 JA-2026-000001】…",
                            "/h5/staff/items/1")     # a text card: a tap opens the workbench page
    send_text_message.delay(["ja01g01-worker"], "您有一条新工单")

A card's link is the workbench page itself (PUBLIC_BASE_URL + path); the page signs the person in
through WeCom OAuth when they have no session yet, so a tap always lands on the item.
"""

from __future__ import annotations

import logging

from app.jobs import job

log = logging.getLogger(__name__)


def _deliver(userids: list[str], send) -> dict:
    """send(userids) → WeCom's answers; a WeCom error is audited and fails the job, so RQ retries it."""
    from app.extensions import db
    from app.services import audit
    from app.wecom.client import WeComError

    try:
        results = send(userids)
    except WeComError as err:
        db.session.rollback()
        audit.record("wecom.message", outcome="failed", detail={"recipients": len(userids), **err.to_detail()})
        db.session.commit()
        raise
    invalid = [u for r in results for u in (r.get("invaliduser") or "").split("|") if u]
    return {"sent": len(userids) - len(invalid), "invalid": invalid, "msgids": [r.get("msgid") for r in results]}


@job("notify")
def send_text_message(userids: list[str], content: str) -> dict:
    """Send a WeCom text message to these userids (batched ≤1000 per call); a WeCom error fails the job
    so RQ retries it with backoff."""
    from app.wecom.client import get_client

    userids = [u for u in dict.fromkeys(userids) if u]
    if not userids or not content:
        log.info("send_text_message: nothing to send (%d recipients)", len(userids))
        return {"sent": 0, "invalid": []}
    return _deliver(userids, lambda ids: get_client().send_text(ids, content))


def page_url(path: str) -> str:
    from flask import current_app

    return f"{current_app.config['PUBLIC_BASE_URL']}{path}"


@job("notify")
def send_card_message(userids: list[str], title: str, description: str, path: str, button: str = "详情") -> dict:
    """Send a WeCom text card that opens the workbench page `path`; retried like send_text_message."""
    from app.wecom.client import get_client

    userids = [u for u in dict.fromkeys(userids) if u]
    if not userids:
        return {"sent": 0, "invalid": []}
    return _deliver(userids, lambda ids: get_client().send_textcard(ids, title, description, page_url(path), button))
