"""Warning messages through WeCom, on the `notify` queue: one fan-out job, one job per batch of 1,000."""

from __future__ import annotations

import math

from sqlalchemy import select, update

from app.toolkit import db, get_client, job, page_url, utcnow
from toolbox.flood_duty.models import DutyCall, FloodWarning
from toolbox.flood_duty.services import BATCH_SIZE, card_title, message_text, recipients_query

DUTY_PAGE = "/h5/staff/t/flood_duty/home"


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
    """Send one `message/send` (a text card) for recipients [batch*1000, batch*1000+1000); mark them notified."""
    warning = db.session.get(FloodWarning, warning_id)
    rows = db.session.execute(recipients_query(warning).offset(batch * BATCH_SIZE).limit(BATCH_SIZE)).all()
    if not rows:
        return 0
    # A text card: a tap opens 防汛防台 in the workbench, where the person confirms arrival (签到).
    get_client().send_textcard([userid for _, userid in rows], card_title(warning), message_text(warning),
                               page_url(DUTY_PAGE), "签到" if warning.raised else "查看")
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
