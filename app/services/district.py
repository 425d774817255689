"""Jing'an District's 1 + 14 + 85 + 266 structure and demo staff; seed() is idempotent.

The district itself is described as pure data in `app.services.district_data` (shared with the
local WeCom simulator); this module writes it to the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import Membership, User
from app.services.district_data import (  # noqa: F401 - re-exported for existing importers
    DEPARTMENTS,
    DISTRICT,
    STREETS,
    TOTAL_COMMITTEES,
    demo_staff,
    units,
)


@dataclass
class SeedResult:
    units_created: int = 0
    users_created: int = 0

    def __str__(self) -> str:
        return f"{self.units_created} org units and {self.users_created} users created"


def seed(with_demo_users: bool = True) -> SeedResult:
    """Create the district tree (and demo users); running it again changes nothing."""
    result = SeedResult()
    existing = {u.code: u for u in db.session.execute(select(OrgUnit)).scalars()}
    for spec in units():
        if spec.code in existing:
            continue
        parent = existing[spec.parent_code] if spec.parent_code else None
        unit = OrgUnit(code=spec.code, name=spec.name, level=spec.level, parent=parent, sort_order=spec.sort_order,
                       path=OrgUnit.child_path(parent, spec.code), wecom_department_id=spec.wecom_department_id)
        db.session.add(unit)
        existing[spec.code] = unit
        result.units_created += 1
    db.session.flush()
    if with_demo_users:
        users = {u.wecom_userid: u for u in db.session.execute(select(User)).scalars()}
        for spec in demo_staff():
            if spec.userid in users:
                continue
            user = User(wecom_userid=spec.userid, name=spec.name, mobile=spec.mobile, position=spec.position,
                        active=True, origin="seed")
            user.memberships.append(Membership(org_unit=existing[spec.unit_code], role=spec.role))
            db.session.add(user)
            users[spec.userid] = user
            result.users_created += 1
    db.session.commit()
    return result
