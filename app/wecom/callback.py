"""The encrypted WeCom callback endpoint, /wecom/callback, and the registry of event handlers.

    from app.wecom.callback import register_handler
    register_handler("template_card_event", on_card_tap)   # on_card_tap(event: dict), run in a job

GET answers WeCom's URL verification with the decrypted echostr. POST verifies the signature,
the timestamp (at most 5 minutes old) and that the nonce was never seen, decrypts, stores the
event, queues its handling and answers at once (WeCom waits 5 seconds, then retries). The nonce is
recorded in the same row as the stored event, so a callback that failed before it was stored is
processed when WeCom retries it; one stored already is a replay: 403, audited, nothing changes.
"""

from __future__ import annotations

import binascii
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import xmltodict
from flask import Blueprint, current_app, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatException

from app.errors import ApiError
from app.extensions import db
from app.jobs import job, periodic
from app.models.base import utcnow
from app.models.wecom import WeComCallbackEvent
from app.services import audit, ratelimit

log = logging.getLogger(__name__)

bp = Blueprint("wecom_callback", __name__, url_prefix="/wecom")

MAX_AGE_SECONDS = 300  # WeCom's timestamp may be at most 5 minutes old (or ahead, for clock skew)
STALE_AFTER = timedelta(minutes=2)  # a stored event not handled by then is queued again

_handlers: dict[str, list[Callable[[dict], object]]] = {}


def register_handler(kind: str, fn: Callable[[dict], object]) -> None:
    """Call fn(event) in a job for every callback of this kind (an Event such as
    "template_card_event", or a MsgType such as "text"). Registering the same function twice is a no-op."""
    handlers = _handlers.setdefault(kind, [])
    name = f"{fn.__module__}.{fn.__qualname__}"
    if all(f"{h.__module__}.{h.__qualname__}" != name for h in handlers):
        handlers.append(fn)


def unregister_handler(kind: str, fn: Callable[[dict], object]) -> None:
    if fn in _handlers.get(kind, []):
        _handlers[kind].remove(fn)


def handlers_for(kind: str) -> list[Callable[[dict], object]]:
    return list(_handlers.get(kind, []))


def _crypto() -> WeChatCrypto:
    cfg = current_app.config
    return WeChatCrypto(cfg["WECOM_TOKEN"], cfg["WECOM_AES_KEY"], cfg["WECOM_CORP_ID"])


class _Refused(Exception):
    def __init__(self, reason: str, **detail):
        self.reason = reason
        self.detail = detail
        super().__init__(reason)


def _refuse(reason: str, **detail) -> ApiError:
    """Audit a refused callback (committed on its own) and return the 403 to raise."""
    db.session.rollback()
    # Past WECOM_CALLBACK_REFUSAL_LIMIT refusals per client IP per minute the answer is 429 without an
    # audit row, so junk traffic cannot flood the (serialised) audit chain.
    allowed, retry_after = ratelimit.hit(f"wecom-callback-refused:{request.remote_addr}",
                                         current_app.config["WECOM_CALLBACK_REFUSAL_LIMIT"], 60)
    if not allowed:
        log.warning("WeCom callback refused (%s), not audited: too many refusals from %s", reason,
                    request.remote_addr)
        return ApiError(429, retry_after=retry_after)
    g.actor_label = "wecom-callback"
    audit.record("wecom.callback", target_type="wecom_callback", outcome="denied",
                 detail={"reason": reason, "method": request.method, **detail})
    db.session.commit()
    log.warning("WeCom callback refused (%s): %s", reason, detail)
    return ApiError(403, f"callback_{reason}", "回调校验失败", f"Callback refused: {reason.replace('_', ' ')}")


def _check_timestamp(raw: str) -> int:
    try:
        ts = int(raw)
    except (TypeError, ValueError) as exc:
        raise _Refused("bad_timestamp", timestamp=raw) from exc
    if abs(time.time() - ts) > MAX_AGE_SECONDS:
        raise _Refused("stale_timestamp", timestamp=ts)
    return ts


def _query() -> tuple[str, str, str]:
    signature, timestamp, nonce = (request.args.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce) or len(nonce) > 64:
        raise _Refused("missing_parameters")
    return signature, timestamp, nonce


def _decrypt_failure(exc: Exception) -> _Refused:
    if type(exc).__name__ == "InvalidSignatureException":
        return _Refused("bad_signature")
    return _Refused("undecryptable", error=type(exc).__name__)


@bp.get("/callback")
def verify_url():
    """WeCom's URL verification: answer the decrypted echostr."""
    try:
        signature, timestamp, nonce = _query()
        _check_timestamp(timestamp)
        echostr = request.args.get("echostr", "")
        if not echostr:
            raise _Refused("missing_parameters")
        try:
            echo = _crypto().check_signature(signature, timestamp, nonce, echostr)
        except (WeChatException, ValueError, binascii.Error, IndexError) as exc:
            raise _decrypt_failure(exc) from exc
    except _Refused as refused:
        raise _refuse(refused.reason, **refused.detail) from None
    return current_app.response_class(echo, mimetype="text/plain")


def parse_event(xml: str) -> dict:
    """The decrypted XML's fields as a dict of strings (nested elements stay dicts)."""
    parsed = xmltodict.parse(xml).get("xml") or {}
    return dict(parsed)


@bp.post("/callback")
def receive():
    """An encrypted event or message from WeCom: verify, store, queue, answer at once."""
    try:
        signature, timestamp, nonce = _query()
        ts = _check_timestamp(timestamp)
        try:
            xml = _crypto().decrypt_message(request.get_data(), signature, timestamp, nonce)
            event = parse_event(xml)
        except (WeChatException, ValueError, KeyError, binascii.Error, IndexError, TypeError) as exc:
            raise _decrypt_failure(exc) from exc
        except Exception as exc:  # noqa: BLE001 - malformed XML from an unauthenticated sender
            raise _Refused("malformed", error=type(exc).__name__) from exc
        if db.session.execute(select(WeComCallbackEvent.id).where(
                WeComCallbackEvent.nonce == nonce, WeComCallbackEvent.msg_timestamp == ts)).first():
            raise _Refused("replayed", nonce=nonce)
        row = WeComCallbackEvent(nonce=nonce, msg_timestamp=ts, msg_type=str(event.get("MsgType") or "unknown"),
                                 event=event.get("Event"), from_user=event.get("FromUserName"), payload=event)
        db.session.add(row)
        try:
            db.session.commit()  # the nonce is recorded only now, together with the stored event
        except IntegrityError:
            raise _Refused("replayed", nonce=nonce) from None
    except _Refused as refused:
        raise _refuse(refused.reason, **refused.detail) from None
    _queue(row.id)
    return current_app.response_class("", mimetype="text/plain")  # WeCom: an empty answer, no passive reply


def _queue(event_id: int) -> None:
    try:
        handle_callback_event.delay(event_id)
    except Exception:  # noqa: BLE001 - the event is stored; the sweeper queues it again
        log.exception("could not queue WeCom callback event %s; the sweeper will retry", event_id)


@job("default")
def handle_callback_event(event_id: int) -> str:
    """Run the registered handlers for one stored callback event; unknown kinds are logged."""
    row = db.session.get(WeComCallbackEvent, event_id)
    if row is None:
        log.warning("WeCom callback event %s no longer exists", event_id)
        return "missing"
    if row.status in ("handled", "ignored"):
        return row.status
    handlers = handlers_for(row.kind)
    row.attempts += 1
    if not handlers:
        log.info("WeCom callback %s (%s from %s) has no handler; acknowledged", row.id, row.kind, row.from_user)
        row.status, row.handled_at = "ignored", utcnow()
        db.session.commit()
        return row.status
    event = dict(row.payload)
    db.session.commit()  # the attempt counts even if a handler fails and rolls back its own work
    try:
        for handler in handlers:
            handler(dict(event))
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(WeComCallbackEvent, event_id)
        row.status, row.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        log.exception("WeCom callback event %s (%s) failed", event_id, row.kind)
        raise
    row = db.session.get(WeComCallbackEvent, event_id)
    row.status, row.handled_at, row.error = "handled", utcnow(), None
    db.session.commit()
    return row.status


@periodic("wecom.requeue_callbacks", 300)
@job("default")
def requeue_stale_callbacks() -> int:
    """Queue again stored events that were never handled (their queueing failed, or a worker died)."""
    cutoff = utcnow() - STALE_AFTER
    ids = db.session.execute(select(WeComCallbackEvent.id).where(
        WeComCallbackEvent.status == "received", WeComCallbackEvent.received_at < cutoff)).scalars().all()
    for event_id in ids:
        _queue(event_id)
    return len(ids)
