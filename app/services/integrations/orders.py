"""Work orders in: another system's order becomes a work item routed like any other, once.

Idempotency is the unique (system, external_id) of integration_work_order, not a look-up: the row is
inserted first, in the transaction that creates the item, so of two concurrent duplicates the second
insert waits for the first and then fails, and answers with the first one's item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.api import ZhSchema
from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.integration import ExternalWorkOrder, IntegrationSystem
from app.models.org import OrgUnit
from app.models.place import Place
from app.models.workitem import WorkItem
from app.services import audit
from app.services.crypto import mask_mobile, mask_name
from app.services.integrations.events import ORDER_SOURCE
from app.services.integrations.systems import granted_unit_paths, resolve_category
from app.services.like import starts_with
from app.services.workflow.sources import create_work_item
from app.services.workflow.views import public_view

PHONE_RE = re.compile(r"^\+?[0-9][0-9-]{5,19}$")
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class Attachment(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, error_messages={"invalid": "附件地址须为 http(s) 地址"})
    name = fields.String(validate=validate.Length(max=200))


def _text(label, max_len, required=False):
    return fields.String(required=required, error_messages={"required": f"请填写{label}", "null": f"{label}不能为空",
                                                            "invalid": f"{label}格式不正确"},
                         validate=validate.Length(min=1 if required else 0, max=max_len,
                                                  error=f"{label}长度须在 {{min}} 至 {{max}} 个字之间"))


class WorkOrderIn(ZhSchema):
    """A work order as another system sends it."""

    external_id = fields.String(required=True, validate=validate.Regexp(
        EXTERNAL_ID_RE, error="来源编号须为 1–64 位字母、数字或 _.:-"), error_messages={"required": "请填写来源编号"})
    category = _text("工单类别", 80, required=True)
    title = _text("标题", 200)
    description = _text("问题描述", 2000, required=True)
    place_code = _text("静安码", 16)
    unit = _text("单位编码", 64)
    address = _text("地址", 255)
    lat = fields.Float(validate=validate.Range(-90, 90, error="纬度须在 -90 至 90 之间"),
                       error_messages={"invalid": "纬度须为数字"})
    lng = fields.Float(validate=validate.Range(-180, 180, error="经度须在 -180 至 180 之间"),
                       error_messages={"invalid": "经度须为数字"})
    reporter_name = _text("反映人姓名", 64)
    reporter_phone = fields.String(validate=validate.Regexp(PHONE_RE, error="反映人电话格式不正确"))
    due_at = fields.AwareDateTime(error_messages={"invalid": "办结时限须为带时区的 ISO 8601 时间",
                                                  "invalid_awareness": "办结时限须带时区"})
    priority = fields.String(validate=validate.OneOf(("normal", "urgent"), error="优先级须为 normal 或 urgent"))
    attachments = fields.List(fields.Nested(Attachment), validate=validate.Length(max=10, error="附件最多 10 个"))


@dataclass
class Outcome:
    order: ExternalWorkOrder
    item: WorkItem
    created: bool


def _locate(system: IntegrationSystem, data: dict, problems: dict) -> OrgUnit | None:
    """The unit the order is about: its place's, the unit named, or the nearest place's to lat/lng."""
    if data.get("place_code"):
        place = db.session.execute(select(Place).where(Place.code == data["place_code"].strip().upper(),
                                                       Place.active.is_(True))).scalar_one_or_none()
        if place is None:
            problems["place_code"] = ["静安码不存在或已停用"]
            return None
        data.setdefault("address", place.address)
        if data.get("lat") is None and place.lat is not None:
            data["lat"], data["lng"] = place.lat, place.lng
        return place.org_unit
    if not data.get("address") or data.get("lat") is None or data.get("lng") is None:
        problems["place_code"] = ["请填写静安码，或地址及经纬度"]
        return None
    if data.get("unit"):
        unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == data["unit"])).scalar_one_or_none()
        if unit is None:
            problems["unit"] = ["单位不存在"]
        return unit
    return _nearest_unit(system, data["lat"], data["lng"], problems)


def _nearest_unit(system, lat: float, lng: float, problems: dict) -> OrgUnit | None:
    """The unit of the nearest place with coordinates within the system's grant (small areas: a flat distance)."""
    clauses = [starts_with(Place.org_path, p) for p in granted_unit_paths(system)]
    if not clauses:
        problems["unit"] = ["该系统未获授权任何单位"]
        return None
    from sqlalchemy import or_
    distance = (Place.lat - lat) * (Place.lat - lat) + (Place.lng - lng) * (Place.lng - lng)
    place = db.session.execute(select(Place).where(Place.active.is_(True), Place.lat.is_not(None), or_(*clauses))
                               .order_by(distance).limit(1)).scalar_one_or_none()
    if place is None:
        problems["lat"] = ["无法按经纬度确定所属单位，请填写静安码或单位编码"]
        return None
    return place.org_unit


def check(system: IntegrationSystem, body: dict):
    """Every problem at once (422), then the grant (403). Returns (data, tool, category, unit)."""
    problems: dict = dict(WorkOrderIn().validate(body))
    data = WorkOrderIn().load(body) if not problems else {}
    if problems:
        raise ApiError(422, "validation_error", "工单信息有误", "The work order is invalid", fields=problems)
    found = resolve_category(data["category"])
    if found is None:
        problems["category"] = ["工单类别不存在"]
    unit = _locate(system, data, problems)
    if data.get("due_at") is not None and data["due_at"] <= utcnow():
        problems["due_at"] = ["办结时限不能早于当前时间"]
    if problems:
        raise ApiError(422, "validation_error", "工单信息有误", "The work order is invalid", fields=problems)
    if data["category"] not in (system.categories or ()):
        raise ApiError(403, "category_not_granted", "该系统无权提交此类别的工单",
                       "This system may not send work orders of this category", category=data["category"])
    if not any(unit.path.startswith(p) for p in granted_unit_paths(system)):
        raise ApiError(403, "unit_not_granted", "该系统无权向此单位派发工单",
                       "This system may not send work orders to this unit", unit=unit.code)
    return data, found[0], found[1], unit


def find(system: IntegrationSystem, external_id: str) -> ExternalWorkOrder | None:
    return db.session.execute(select(ExternalWorkOrder).where(
        ExternalWorkOrder.system_id == system.id, ExternalWorkOrder.external_id == external_id)).scalar_one_or_none()


def receive(system: IntegrationSystem, body: dict) -> Outcome:
    """Create the item once; the same external_id again is the same item, unchanged. Commits."""
    external_id = body.get("external_id") if isinstance(body.get("external_id"), str) else None
    earlier = find(system, external_id) if external_id else None
    if earlier is not None and earlier.work_item_id is not None:
        return Outcome(earlier, db.session.get(WorkItem, earlier.work_item_id), False)
    data, tool, category, unit = check(system, body)
    order = ExternalWorkOrder(system_id=system.id, external_id=data["external_id"],
                              attachments=list(data.get("attachments") or []))
    db.session.add(order)
    try:
        db.session.flush()  # the unique constraint decides here; a concurrent twin waits for us, then fails
    except IntegrityError:
        db.session.rollback()
        order = find(system, data["external_id"])
        return Outcome(order, db.session.get(WorkItem, order.work_item_id), False)
    actor = f"integration:{system.code}"
    title = data.get("title") or data["description"].strip().splitlines()[0][:60]
    item = create_work_item(
        tool=tool, category=category.code, title=title, org_unit=unit, source_type=ORDER_SOURCE, source_id=order.id,
        description=data["description"], address=data.get("address"), lat=data.get("lat"), lng=data.get("lng"),
        reporter_name=data.get("reporter_name"), reporter_mobile=data.get("reporter_phone"),
        priority=data.get("priority", "normal"), actor=actor, close_due_at=data.get("due_at"))
    order.work_item_id = item.id
    audit.record("integration.work_order", target_type="work_item", target_id=item.id, actor=actor,
                 detail={"system": system.code, "external_id": order.external_id, "number": item.number,
                         "due_at": data["due_at"].isoformat() if data.get("due_at") else None})
    db.session.commit()
    return Outcome(order, item, True)


def _iso(at: datetime | None):
    return at.isoformat() if at is not None else None


def order_view(order: ExternalWorkOrder, item: WorkItem) -> dict:
    """The state and the public timeline; the reporter's data masked."""
    return {
        "external_id": order.external_id, "system": order.system.code, "work_item_id": item.id,
        "number": item.number, "state": item.state, "close_due_at": _iso(item.close_due_at),
        "reporter_name": mask_name(item.reporter_name), "reporter_phone": mask_mobile(item.reporter_mobile),
        "attachments": order.attachments, "public": public_view(item),
    }
