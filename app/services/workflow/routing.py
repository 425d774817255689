"""Where a new work item goes: the tool manifest's category names a unit, or a level above the record."""

from __future__ import annotations

from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgLevel, OrgUnit
from app.registry import current_registry


def unit_by_code(code: str) -> OrgUnit | None:
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()


def ancestor_at(unit: OrgUnit, level: str) -> OrgUnit | None:
    current: OrgUnit | None = unit
    while current is not None and current.level != level:
        current = current.parent
    return current


def route(tool: str, category: str, org_unit: OrgUnit):
    """The tool manifest's category → (category, responsible unit)."""
    cat = current_registry().category(tool, category)
    if cat is None:
        raise ApiError(422, "unknown_category", "工具未声明该工单类别", "The tool declares no such category",
                       tool=tool, category=category)
    if cat.route_to in ("street", "grid"):
        target = ancestor_at(org_unit, cat.route_to)
        if target is None and cat.route_to == "grid":
            target = ancestor_at(org_unit, OrgLevel.STREET)  # a street-level record: the street handles it
        if target is None:
            target = org_unit  # a district or department record stays where it is
    else:
        target = unit_by_code(cat.route_to)
        if target is None:
            raise ApiError(422, "route_unit_missing", "工单类别指向的单位不存在",
                           "The category routes to an org unit that does not exist", route_to=cat.route_to)
    return cat, target
