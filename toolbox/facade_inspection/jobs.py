"""Background jobs of facade inspection."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.jobs import job, periodic
from app.models.base import utcnow
from app.models.users import Membership, User
from toolbox.facade_inspection.models import Building

DUE_SOON = timedelta(days=1)


@periodic("facade_inspection.reinspection_reminders", 24 * 3600)
@job("default")
def remind_reinspections() -> int:
    """Once a day, tell street operators which high-risk buildings' rectification deadline is a day away
    or past, so a re-inspection is arranged in time."""
    from app.services.notify import send_text_message

    horizon = utcnow() + DUE_SOON
    due = db.session.execute(select(Building).where(
        Building.rectification_open.is_(True), Building.rectification_due_at <= horizon)
        .order_by(Building.rectification_due_at)).unique().scalars().all()
    by_street: dict[int, list[Building]] = {}
    for b in due:
        street = b.org_unit.street
        if street is not None:
            by_street.setdefault(street.id, []).append(b)
    for street_id, buildings in by_street.items():
        userids = list(db.session.execute(select(User.wecom_userid).join(Membership).where(
            Membership.org_unit_id == street_id, Membership.role == "operator", User.active.is_(True))).scalars())
        if userids:
            names = "、".join(f"{b.name}（{b.rectification_number}）" for b in buildings[:10])
            send_text_message.delay(userids, f"【外墙隐患】以下楼宇整改即将到期或已逾期，请安排复查：{names}")
    return len(due)
