"""Warning messages through WeCom, on the `notify` queue: one fan-out job, one job per batch of 1,000."""

from __future__ import annotations

import math

from sqlalchemy import select, update

from app.toolkit import db, get_client, job, utcnow
from toolbox.flood_duty.models import DutyCall, FloodWarning
from toolbox.flood_duty.services import BATCH_SIZE, message_text, recipients_query


@job("notify")
def dispatch_warning(warning_id: int) -> int:
    """Split a warning's recipients into batches of at most 1,000 and queue one send job per batch."""
    warning = db.session.get(FloodWarning, warning_id)
    if warning is None:
        return 0
    total = db.session.execute(
        select(db.func.count()).select_from(recipients_query(warning).subquery())).scalar_one()
    warning.recipients_count = total
    warning.batches_total = math.ceil(total / BATCH_SIZE)
    if total == 0:
        warning.messages_done_at = utcnow()
    db.session.commit()
    for batch in range(warning.batches_total):
        send_warning_batch.delay(warning_id, batch)
    return warning.batches_total


@job("notify")
def send_warning_batch(warning_id: int, batch: int) -> int:
    """Send one `message/send` for recipients [batch*1000, batch*1000+1000) and mark them notified."""
    warning = db.session.get(FloodWarning, warning_id)
    rows = db.session.execute(recipients_query(warning).offset(batch * BATCH_SIZE).limit(BATCH_SIZE)).all()
    if not rows:
        return 0
    get_client().send_text([userid for _, userid in rows], message_text(warning))
    now = utcnow()
    if warning.raised:
        db.session.execute(update(DutyCall).where(DutyCall.id.in_([call_id for call_id, _ in rows]))
                           .values(notified_at=now))
    # Count batches atomically: several workers may finish batches of one warning at once.
    sent = db.session.execute(update(FloodWarning).where(FloodWarning.id == warning_id)
                              .values(batches_sent=FloodWarning.batches_sent + 1)
                              .returning(FloodWarning.batches_sent)).scalar_one()
    if sent >= warning.batches_total:
        db.session.execute(update(FloodWarning).where(FloodWarning.id == warning_id).values(messages_done_at=now))
    db.session.commit()
    return len(rows)
