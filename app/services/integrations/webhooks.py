"""Every change out: events as delivery rows written in the transaction that made the change, sent by jobs,
signed, in order per chain (a work item, a record), retried with exponential backoff, logged, redeliverable.

    X-Toolbox-Event: work_item.closed
    X-Toolbox-Signature: t=1767225600,v1=<hex HMAC-SHA256(secret, "1767225600.<raw body>")>

During a key rotation's grace period the signature header carries one v1= per live secret (newest
first), so a receiver holding either secret verifies. The body is {id, type, occurred_at, data}; a
redelivery keeps the event id, so a receiver deduplicates on it.

Retries are our own schedule, not the job system's: a failed attempt sets `next_attempt_at` and the
periodic sweep queues the chain again when it is due; the chain waits behind its oldest pending delivery
(order per work item), and a delivery still failing WEBHOOK_GIVE_UP_SECONDS after its event is failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import zlib
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import select, text

from app.extensions import db
from app.jobs import job, periodic
from app.models.base import utcnow
from app.models.integration import IntegrationSystem, WebhookAttempt, WebhookDelivery
from app.services.after_commit import after_commit
from app.services.integrations.systems import live_credentials

log = logging.getLogger(__name__)
USER_AGENT = "JinganToolbox-Webhooks/1"
_local = threading.local()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets_: list[str], body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={t}", *(f"v1={sign(s, t, body)}" for s in secrets_)])


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (docs/integrations.md): one v1 matches, and the time is recent."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    if not stamps or not stamps[0].isdigit() or abs(time.time() - int(stamps[0])) > tolerance:
        return False
    expected = sign(secret, int(stamps[0]), body)
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


# --- writing events (in the caller's transaction) ------------------------------------------------

def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def _body(event_id: str, event_type: str, occurred_at: datetime, data: dict) -> str:
    return json.dumps({"id": event_id, "type": event_type, "occurred_at": occurred_at.isoformat(), "data": data},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def emit(systems, event_type: str, chain: str, data: dict, occurred_at: datetime | None = None) -> list:
    """One delivery per system, in the caller's transaction; each chain's job is queued after the commit."""
    occurred_at = occurred_at or utcnow()
    made = []
    for system in systems:
        delivery = WebhookDelivery(system_id=system.id, event_id=new_event_id(), event_type=event_type, chain=chain,
                                   status="pending", attempts=0, next_attempt_at=occurred_at, created_at=occurred_at)
        delivery.body = _body(delivery.event_id, event_type, occurred_at, data)
        db.session.add(delivery)
        made.append(delivery)
    for system_id in sorted({s.id for s in systems}):
        _queue_chain_after_commit(system_id, chain)
    return made


def _queue_chain_after_commit(system_id: int, chain: str) -> None:
    # One job per chain and transaction; the job API turns this into an outbox row once it has one.
    pending = db.session.info.setdefault("webhook_chains", set())
    if (system_id, chain) in pending:
        return
    pending.add((system_id, chain))

    def queue():
        db.session.info.get("webhook_chains", set()).discard((system_id, chain))
        deliver_chain.delay(system_id, chain)
    after_commit(queue)


def redeliver(delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a delivery again as a new attempt row with the same event id and body. THE CALLER COMMITS."""
    from app.services import audit

    again = WebhookDelivery(system_id=delivery.system_id, event_id=delivery.event_id, event_type=delivery.event_type,
                            chain=delivery.chain, body=delivery.body, status="pending", attempts=0,
                            next_attempt_at=utcnow(), redelivery_of=delivery.id, created_at=utcnow())
    db.session.add(again)
    db.session.flush()
    audit.record("integration.redeliver", target_type="integration_delivery", target_id=delivery.id, actor=actor,
                 detail={"event_id": delivery.event_id, "new_delivery": again.id})
    _queue_chain_after_commit(delivery.system_id, delivery.chain)
    return again


# --- sending (jobs) -----------------------------------------------------------------------------------

def backoff_seconds(attempts: int) -> float:
    """After the n-th failed attempt: BASE·2^(n-1), capped at MAX."""
    cfg = current_app.config
    return min(cfg["WEBHOOK_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0), cfg["WEBHOOK_RETRY_MAX_SECONDS"])


def _http() -> requests.Session:
    if getattr(_local, "session", None) is None:
        _local.session = requests.Session()  # keep-alive per worker thread
    return _local.session


def _post(system: IntegrationSystem, delivery: WebhookDelivery) -> tuple[int | None, str | None, int]:
    body = delivery.body.encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "X-Toolbox-Event": delivery.event_type, "X-Toolbox-Event-Id": delivery.event_id,
               "X-Toolbox-Delivery": str(delivery.id),
               "X-Toolbox-Signature": signature_header([c.webhook_secret for c in live_credentials(system)], body)}
    started = time.monotonic()
    try:
        response = _http().post(system.webhook_url, data=body, headers=headers,
                                timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"], allow_redirects=False)
        return response.status_code, None, int((time.monotonic() - started) * 1000)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], int((time.monotonic() - started) * 1000)


def _chain_lock(system_id: int, chain: str) -> bool:
    """One sender per chain at a time (PostgreSQL: a transaction advisory lock; SQLite writes serialise)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    key = zlib.crc32(f"webhook:{system_id}:{chain}".encode()) - 2**31
    return bool(db.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())


def _attempt(system: IntegrationSystem, delivery: WebhookDelivery) -> bool:
    now = utcnow()
    code, error, ms = _post(system, delivery)
    ok = code is not None and 200 <= code < 300
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.response_code, delivery.last_error = now, code, error
    db.session.add(WebhookAttempt(delivery_id=delivery.id, at=now, response_code=code, error=error, duration_ms=ms))
    if ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    elif (now - delivery.created_at).total_seconds() >= current_app.config["WEBHOOK_GIVE_UP_SECONDS"]:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
    return ok


@job("notify", timeout=900)
def deliver_chain(system_id: int, chain: str, limit: int = 500) -> int:
    """Send a chain's pending deliveries oldest first, stopping at the first that must wait. Returns how many went."""
    sent = 0
    for _ in range(limit):
        system = db.session.get(IntegrationSystem, system_id, populate_existing=True)
        if system is None or not system.enabled or not system.webhook_url or not _chain_lock(system_id, chain):
            break
        head = db.session.execute(select(WebhookDelivery).where(
            WebhookDelivery.system_id == system_id, WebhookDelivery.chain == chain,
            WebhookDelivery.status == "pending").order_by(WebhookDelivery.id).limit(1)).scalar_one_or_none()
        if head is None or (head.next_attempt_at is not None and head.next_attempt_at > utcnow()):
            break
        ok = _attempt(system, head)
        db.session.commit()
        if not ok and head.status == "pending":
            break  # later events of this chain wait behind it: order per work item
        sent += ok
    db.session.commit()
    return sent


@periodic("integrations.sweep_webhooks", 15)
@job("default")
def sweep_webhooks(batch: int = 5000) -> int:
    """Queue every chain whose oldest pending delivery is due (retries, and anything a lost job left)."""
    now = utcnow()
    rows = db.session.execute(
        select(WebhookDelivery.system_id, WebhookDelivery.chain).join(IntegrationSystem)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
               IntegrationSystem.enabled.is_(True))
        .group_by(WebhookDelivery.system_id, WebhookDelivery.chain).limit(batch)).all()
    db.session.commit()
    for system_id, chain in rows:
        deliver_chain.delay(system_id, chain)
    return len(rows)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def delivery_view(delivery: WebhookDelivery, with_attempts: bool = True) -> dict:
    iso = _iso
    out = {"id": delivery.id, "event_id": delivery.event_id, "event_type": delivery.event_type,
           "chain": delivery.chain, "status": delivery.status, "attempts": delivery.attempts,
           "response_code": delivery.response_code, "last_error": delivery.last_error,
           "created_at": iso(delivery.created_at), "last_attempt_at": iso(delivery.last_attempt_at),
           "next_attempt_at": iso(delivery.next_attempt_at), "delivered_at": iso(delivery.delivered_at),
           "redelivery_of": delivery.redelivery_of}
    if with_attempts:
        rows = db.session.execute(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
                                  .order_by(WebhookAttempt.id)).scalars()
        out["log"] = [{"at": iso(a.at), "response_code": a.response_code, "error": a.error,
                       "duration_ms": a.duration_ms} for a in rows]
    return out
