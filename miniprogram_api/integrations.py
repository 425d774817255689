"""Other systems: registration by the system admin, and the endpoints the systems call with X-Api-Key.

    /api/v1/admin/integrations…          system admin (bearer token): register, change, rotate, disable,
                                         deliveries and redelivery, devices
    /api/v1/integrations/work-orders…    a registered system (X-Api-Key): work orders in, their state
    /api/v1/integrations/readings        a registered system (X-Api-Key): sensor readings in
"""

from __future__ import annotations

import functools

from flask import g, jsonify, request
from marshmallow import fields, validate
from sqlalchemy import select

from app.api import PageArgs, PageOut, ZhSchema, paginate, parse_args, parse_json
from app.auth import current_user, public, roles_required
from app.errors import ApiError
from app.extensions import db
from app.models.integration import WebhookDelivery
from app.models.users import Role
from app.services.integrations import orders, sensors, systems, webhooks
from miniprogram_api import bp
from miniprogram_api.openapi import doc

TAGS = ("integrations",)


# --- schemas --------------------------------------------------------------------------------------

class SystemIn(ZhSchema):
    code = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    categories = fields.List(fields.String(), load_default=list)
    units = fields.List(fields.String(), load_default=list)
    webhook_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    events = fields.List(fields.String(), load_default=list)


class SystemPatch(ZhSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    categories = fields.List(fields.String())
    units = fields.List(fields.String())
    webhook_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    events = fields.List(fields.String())


class KeyOut(ZhSchema):
    prefix = fields.String()
    created_at = fields.String()
    expires_at = fields.String(allow_none=True)


class SystemOut(ZhSchema):
    code = fields.String()
    name = fields.String()
    categories = fields.List(fields.String())
    units = fields.List(fields.String())
    webhook_url = fields.String(allow_none=True)
    events = fields.List(fields.String())
    enabled = fields.Boolean()
    created_at = fields.String()
    keys = fields.List(fields.Nested(KeyOut))


class SystemList(ZhSchema):
    items = fields.List(fields.Nested(SystemOut))


class IssuedOut(SystemOut):
    api_key = fields.String(metadata={"description": "shown once"})
    webhook_secret = fields.String(metadata={"description": "shown once"})
    old_valid_until = fields.String(allow_none=True)


class RotateIn(ZhSchema):
    grace_hours = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=24 * 30))


class DeliveryOut(ZhSchema):
    id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    chain = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    response_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String()
    last_attempt_at = fields.String(allow_none=True)
    next_attempt_at = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)
    redelivery_of = fields.Integer(allow_none=True)
    log = fields.List(fields.Dict())


class DeliveryPage(PageOut):
    items = fields.List(fields.Nested(DeliveryOut))


class DeliveryQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(("pending", "delivered", "failed")))
    event_type = fields.String()


class WorkOrderOut(ZhSchema):
    external_id = fields.String()
    system = fields.String()
    work_item_id = fields.Integer()
    number = fields.String()
    state = fields.String()
    close_due_at = fields.String(allow_none=True)
    reporter_name = fields.String(allow_none=True)
    reporter_phone = fields.String(allow_none=True)
    attachments = fields.List(fields.Dict())
    public = fields.Dict(metadata={"description": "state and public timeline, as the citizen page shows it"})


class DeviceIn(ZhSchema):
    device_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    place_code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    metric = fields.String(required=True, validate=validate.Length(min=1, max=40))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=16))


class DeviceOut(ZhSchema):
    device_id = fields.String()
    place_code = fields.String()
    metric = fields.String()
    unit = fields.String()
    active = fields.Boolean()
    last_value = fields.Float(allow_none=True)
    last_at = fields.String(allow_none=True)


class DeviceList(ZhSchema):
    items = fields.List(fields.Nested(DeviceOut))


class ReadingIn(ZhSchema):
    device_id = fields.String(required=True)
    metric = fields.String(required=True)
    value = fields.Float(required=True)
    at = fields.String(required=True)


class ReadingsIn(ZhSchema):
    readings = fields.List(fields.Nested(ReadingIn), required=True)


class ReadingsOut(ZhSchema):
    accepted = fields.Integer()
    rejected = fields.Integer()
    problems = fields.List(fields.Dict(), metadata={"description": "index and reason of each rejected reading"})


# --- admin --------------------------------------------------------------------------------------------

def _issued(issued: systems.Issued) -> dict:
    until = issued.old_valid_until
    return {**systems.view(issued.system), "api_key": issued.api_key, "webhook_secret": issued.webhook_secret,
            "old_valid_until": until.isoformat() if until else None}


@bp.post("/admin/integrations")
@roles_required(Role.ADMIN)
@doc("Register another system: its API key and webhook secret are in this answer only (system admin)", tags=TAGS,
     body=SystemIn, response=IssuedOut, status=201, errors=(403,))
def register_system():
    """Register a system with its grants and webhook; audited."""
    issued = systems.register(parse_json(SystemIn()), current_user())
    db.session.commit()
    return jsonify(_issued(issued)), 201


@bp.get("/admin/integrations")
@roles_required(Role.ADMIN)
@doc("Registered systems (system admin)", tags=TAGS, response=SystemList)
def list_systems():
    """Every registered system, without keys or secrets."""
    from app.models.integration import IntegrationSystem
    rows = db.session.execute(select(IntegrationSystem).order_by(IntegrationSystem.code)).scalars()
    return jsonify({"items": [systems.view(s) for s in rows]})


@bp.get("/admin/integrations/<code>")
@roles_required(Role.ADMIN)
@doc("One registered system (system admin)", tags=TAGS, response=SystemOut, errors=(404,))
def get_system(code: str):
    """A system's settings and its live key prefixes."""
    return jsonify(systems.view(systems.get_system(code)))


@bp.patch("/admin/integrations/<code>")
@roles_required(Role.ADMIN)
@doc("Change a system's name, grants, webhook or subscriptions (system admin)", tags=TAGS, body=SystemPatch,
     response=SystemOut, errors=(404,))
def update_system(code: str):
    """Change settings; audited with before and after."""
    system = systems.update(systems.get_system(code), parse_json(SystemPatch()), current_user())
    db.session.commit()
    return jsonify(systems.view(system))


@bp.post("/admin/integrations/<code>/rotate")
@roles_required(Role.ADMIN)
@doc("A new API key and webhook secret; the old ones stay valid for the grace period (system admin)", tags=TAGS,
     body=RotateIn, response=IssuedOut, errors=(404,))
def rotate_system(code: str):
    """Rotate without downtime; audited."""
    data = parse_json(RotateIn()) if request.get_data() else {"grace_hours": None}
    issued = systems.rotate(systems.get_system(code), current_user(), data.get("grace_hours"))
    db.session.commit()
    return jsonify(_issued(issued))


@bp.post("/admin/integrations/<code>/disable")
@roles_required(Role.ADMIN)
@doc("Disable a system at once: its keys are refused and nothing more is sent (system admin)", tags=TAGS,
     response=SystemOut, errors=(404,))
def disable_system(code: str):
    """Disable; audited."""
    system = systems.set_enabled(systems.get_system(code), False, current_user())
    db.session.commit()
    return jsonify(systems.view(system))


@bp.post("/admin/integrations/<code>/enable")
@roles_required(Role.ADMIN)
@doc("Enable a disabled system again (system admin)", tags=TAGS, response=SystemOut, errors=(404,))
def enable_system(code: str):
    """Enable; audited. Deliveries held while it was disabled go out with the next sweep."""
    system = systems.set_enabled(systems.get_system(code), True, current_user())
    db.session.commit()
    return jsonify(systems.view(system))


@bp.get("/admin/integrations/<code>/deliveries")
@roles_required(Role.ADMIN)
@doc("Webhook deliveries to a system, newest first, with each attempt (system admin)", tags=TAGS,
     query=DeliveryQuery, response=DeliveryPage, errors=(404,))
def list_deliveries(code: str):
    """The delivery log: status, response code and every attempt."""
    system = systems.get_system(code)
    args = parse_args(DeliveryQuery())
    stmt = select(WebhookDelivery).where(WebhookDelivery.system_id == system.id).order_by(WebhookDelivery.id.desc())
    if "status" in args:
        stmt = stmt.where(WebhookDelivery.status == args["status"])
    if "event_type" in args:
        stmt = stmt.where(WebhookDelivery.event_type == args["event_type"])
    return jsonify(paginate(stmt, args["page"], args["per_page"], webhooks.delivery_view))


@bp.post("/admin/integrations/<code>/deliveries/<int:delivery_id>/redeliver")
@roles_required(Role.ADMIN)
@doc("Send a delivery again, with the same event id (system admin)", tags=TAGS, response=DeliveryOut,
     status=202, errors=(404,))
def redeliver(code: str, delivery_id: int):
    """A new delivery of the same event, queued after the chain's pending ones; audited."""
    system = systems.get_system(code)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.system_id != system.id:
        raise ApiError(404, "delivery_not_found", "投递记录不存在", "No such delivery")
    again = webhooks.redeliver(delivery, current_user())
    db.session.commit()
    return jsonify(webhooks.delivery_view(again)), 202


@bp.post("/admin/integrations/<code>/devices")
@roles_required(Role.ADMIN)
@doc("Register (or rebind) a sensor of a system at a place (system admin)", tags=TAGS, body=DeviceIn,
     response=DeviceOut, status=201, errors=(404,))
def register_device(code: str):
    """A device measuring one metric at one place; audited."""
    device = sensors.register_device(systems.get_system(code), parse_json(DeviceIn()), current_user())
    db.session.commit()
    return jsonify(sensors.device_view(device)), 201


@bp.get("/admin/integrations/<code>/devices")
@roles_required(Role.ADMIN)
@doc("A system's sensors (system admin)", tags=TAGS, response=DeviceList, errors=(404,))
def list_devices(code: str):
    """Devices with their place and last reading."""
    return jsonify({"items": [sensors.device_view(d) for d in sensors.devices_of(systems.get_system(code))]})


# --- what the systems call ----------------------------------------------------------------------------

def api_key_required(view):
    """The caller is a registered, enabled system (X-Api-Key); no user token is involved."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.integration = systems.authenticate(request.headers.get("X-Api-Key"))
        g.actor_label = f"integration:{g.integration.code}"
        return view(*args, **kwargs)
    return public(wrapper)


@bp.post("/integrations/work-orders")
@api_key_required
@doc("Send a work order (X-Api-Key); the same external_id again answers 200 with the same item", tags=TAGS,
     body=orders.WorkOrderIn, response=WorkOrderOut, status=201, errors=(401, 403), public=True)
def receive_work_order():
    """Create a work item from another system's order, once per external_id."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体必须是 JSON 对象", "The request body must be a JSON object")
    outcome = orders.receive(g.integration, body)
    return jsonify(orders.order_view(outcome.order, outcome.item)), 201 if outcome.created else 200


@bp.get("/integrations/work-orders/<path:external_id>")
@api_key_required
@doc("A work order's state and public timeline, by the sender's own id (X-Api-Key)", tags=TAGS,
     response=WorkOrderOut, errors=(401, 403, 404), public=True)
def get_work_order(external_id: str):
    """Only the system that sent it may read it."""
    order = orders.find(g.integration, external_id)
    if order is None or order.work_item_id is None:
        raise ApiError(404, "work_order_not_found", "工单不存在", "No work order with this external_id")
    from app.models.workitem import WorkItem
    return jsonify(orders.order_view(order, db.session.get(WorkItem, order.work_item_id)))


@bp.post("/integrations/readings")
@api_key_required
@doc("Send a batch of sensor readings (X-Api-Key): 202 with accepted and rejected counts", tags=TAGS,
     body=ReadingsIn, response=ReadingsOut, status=202, errors=(401, 403, 413), public=True)
def receive_readings():
    """Unknown devices, wrong metrics and times too far ahead are rejected one by one; the rest accepted."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("readings"), list):
        raise ApiError(400, "invalid_json", "请求体须为 {readings: [...]}", "The body must be {readings: [...]}")
    result = sensors.receive(g.integration, body["readings"])
    return jsonify(result), 202
