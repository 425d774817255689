"""The one audit call: audit.record(...). Rows are hash-chained and verified by audit-verify.

record() adds the row to the caller's session, so it commits (or rolls back) together
with the change it describes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import g, has_request_context, request
from sqlalchemy import select, text

from app.extensions import db
from app.models.audit import AuditHead, AuditLog
from app.models.base import utcnow

GENESIS = "0" * 64
_CHAIN_LOCK_KEY = 0x4A41_4155  # "JAAU": serialises appends on PostgreSQL


def _canonical_time(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite returns naive datetimes; we only ever store UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(row: AuditLog) -> str:
    payload = json.dumps(
        [row.prev_hash, _canonical_time(row.at), row.actor_id, row.actor, row.action,
         row.target_type, row.target_id, row.ip, row.outcome, row.detail or {}],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _current_actor() -> tuple[int | None, str | None, str | None]:
    if not has_request_context():
        return None, "system", None
    user = g.get("user")
    ip = request.remote_addr
    if user is not None:
        return user.id, user.wecom_userid, ip
    return None, g.get("actor_label"), ip


def _lock_chain(session) -> None:
    """Serialise appends until commit, so two writers never chain onto the same row."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement takes SQLite's RESERVED lock before we read the head.
        session.execute(text("UPDATE audit_head SET last_id = last_id WHERE id = 1"))


def record(action: str, *, target_type: str | None = None, target_id=None, detail: dict | None = None,
           outcome: str = "ok", actor=None) -> AuditLog:
    """Append an audit row to the current session (committed with the caller's transaction)."""
    session = db.session
    _lock_chain(session)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    actor_id, actor_label, ip = _current_actor()
    if actor is not None:
        actor_id, actor_label = getattr(actor, "id", None), getattr(actor, "wecom_userid", str(actor))
    row = AuditLog(
        at=utcnow(), actor_id=actor_id, actor=actor_label, action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id), ip=ip, outcome=outcome,
        detail=detail or {}, prev_hash=head.last_hash if head else GENESIS,
    )
    row.hash = row_hash(row)
    session.add(row)
    session.flush()
    if head is None:
        session.add(AuditHead(id=1, last_id=row.id, last_hash=row.hash))
    else:
        head.last_id, head.last_hash = row.id, row.hash
    return row


@dataclass
class ChainProblem:
    row_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row_id}" if self.row_id is not None else "chain end"
        return f"{where}: {self.problem}"


def verify_chain(batch_size: int = 5000) -> tuple[int, list[ChainProblem]]:
    """Walk the chain; return (rows checked, problems). A clean chain has no problems."""
    problems: list[ChainProblem] = []
    prev_hash, prev_id, checked, last_id = GENESIS, None, 0, 0
    while True:
        rows = db.session.execute(
            select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch_size)
        ).scalars().all()
        if not rows:
            break
        for row in rows:
            checked += 1
            if row.prev_hash != prev_hash:
                problems.append(ChainProblem(
                    row.id, f"does not follow row {prev_id}: a row before it was modified or deleted"
                    if prev_id is not None else "is not the first row: rows before it were deleted"))
            if row_hash(row) != row.hash:
                problems.append(ChainProblem(row.id, "content was modified"))
            prev_hash, prev_id = row.hash, row.id
        last_id = rows[-1].id
        db.session.expunge_all()
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.last_id != prev_id or head.last_hash != prev_hash):
        problems.append(ChainProblem(None, f"the newest row {head.last_id} is missing: rows after "
                                           f"{prev_id} were deleted"))
    return checked, problems
