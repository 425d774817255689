"""Background jobs of small construction sites."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.jobs import job, periodic
from app.models.org import OrgUnit
from app.models.users import Membership, User
from toolbox.construction_sites import services

REMINDER_INTERVAL_SECONDS = 24 * 3600
MAX_SITES_LISTED = 10


@periodic("construction_sites.inspection_reminders", REMINDER_INTERVAL_SECONDS)
@job("default")
def remind_overdue_inspections() -> int:
    """Once a day, tell each street's operators which active sites are overdue for inspection."""
    from app.services.notify import send_text_message

    sent = 0
    for street_id, sites in services.overdue_sites_by_street().items():
        street = db.session.get(OrgUnit, street_id)
        userids = list(db.session.execute(
            select(User.wecom_userid).join(Membership).where(
                Membership.org_unit_id == street_id, Membership.role == "operator", User.active.is_(True))
        ).scalars())
        if not userids:
            continue
        names = "、".join(s.name for s in sites[:MAX_SITES_LISTED])
        more = f"等 {len(sites)} 个" if len(sites) > MAX_SITES_LISTED else f"共 {len(sites)} 个"
        send_text_message.delay(userids, (
            f"【小型工地】{street.name}有工地超过 {services.inspection_interval_days()} 天未检查：{names}，{more}。"
            "请安排巡查。"))
        sent += 1
    return sent
