"""Tools defined without code (issue 15): the admin's definitions, and the one engine serving every defined tool.

    POST /api/v1/admin/tool-definitions                    a new definition (its draft)
    GET|PUT /api/v1/admin/tool-definitions/<code>          the draft
    POST /api/v1/admin/tool-definitions/<code>/publish     ?dry_run=1: the change report only
    GET /api/v1/admin/tool-definitions/<code>/export       the definition as one JSON (or ?format=yaml) file
    GET /api/v1/tools/<code>/schema                        the published definition as JSON Schema + UI hints
    GET|POST /api/v1/tools/<code>/records                  list (filters, sort, paging) / record
    GET|PATCH /api/v1/tools/<code>/records/<id>            one record / change it
    GET /api/v1/tools/<code>/records/<id>/personal         phone and ID numbers unmasked (audited)

The engine's routes sit under /api/v1/tools/<code>/ like a code tool's, and the registry's access rule
(role admitted, tool enabled for the caller's unit) runs before each of them.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import Schema, fields

from app.api import PageOut
from app.auth import current_user, roles_required
from app.errors import ApiError
from app.extensions import db
from app.models.users import Role
from app.registry import current_registry
from app.services import defined_records as records
from app.services import definitions, idempotency
from app.services.definition_schema import json_schema
from app.services.definitions_io import dump_definition
from miniprogram_api import bp
from miniprogram_api.openapi import camel, doc

TAGS = ("tool_definitions",)


class FieldIn(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True)
    required = fields.Boolean()
    options = fields.List(fields.Raw())
    filterable = fields.Boolean()
    searchable = fields.Boolean()


class DefinitionIn(Schema):
    code = fields.String(required=True, metadata={"example": "shared_bikes_patrol"})
    name = fields.String(required=True)
    icon = fields.String()
    roles = fields.List(fields.String())
    fields_ = fields.List(fields.Nested(FieldIn), data_key="fields", required=True)
    sections = fields.List(fields.Dict())
    list_columns = fields.List(fields.String())
    sort = fields.Dict()
    categories = fields.List(fields.Dict())
    rules = fields.List(fields.Dict())


class DefinitionOut(Schema):
    code = fields.String()
    draft = fields.Dict()
    published_version = fields.Integer(allow_none=True)
    published = fields.Dict(allow_none=True)


class PublishIn(Schema):
    resolutions = fields.Dict(metadata={"description": "per field: {action: keep|convert|clear, default?, "
                                                       "expected_count?}"})


class ChangeReport(Schema):
    code = fields.String()
    records = fields.Integer()
    fields_ = fields.List(fields.Dict(), data_key="fields")
    unresolved = fields.List(fields.String())
    would_lose = fields.Integer()
    can_publish = fields.Boolean()
    dry_run = fields.Boolean()
    from_version = fields.Integer(allow_none=True)
    to_version = fields.Integer()


class RecordIn(Schema):
    values = fields.Dict(required=True, metadata={"description": "field name → value, as the tool's schema says"})
    org_unit = fields.String(metadata={"description": "the unit the record is kept in (default: its Jing'an "
                                                      "code's unit, or the writer's only unit)"})


class RecordOut(Schema):
    id = fields.Integer()
    tool = fields.String()
    version = fields.Integer()
    serial = fields.String(allow_none=True)
    values = fields.Dict()
    org_unit = fields.Dict()
    place_code = fields.String(allow_none=True)
    photo_ids = fields.List(fields.Integer())
    work_items = fields.List(fields.Dict())
    legacy = fields.Dict()


class RecordPage(PageOut):
    items = fields.List(fields.Nested(RecordOut))
    total_exact = fields.Boolean(metadata={"description": "false: more than `total` records match"})


class DefinitionList(Schema):
    items = fields.List(fields.Nested(DefinitionOut))


class PersonalOut(Schema):
    id = fields.Integer()
    values = fields.Dict(metadata={"description": "the personal fields in full"})


class ToolSchemaOut(Schema):
    code = fields.String()
    version = fields.Integer()
    json_schema = fields.Dict(data_key="schema")
    ui = fields.Dict()


# --- the admin's definitions ----------------------------------------------------------------------------

def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体必须是 JSON 对象", "The request body must be a JSON object")
    return body


@bp.post("/admin/tool-definitions")
@roles_required(Role.ADMIN)
@doc("Define a tool without code (its draft)", tags=TAGS, body=DefinitionIn, response=DefinitionOut, status=201,
     errors=(409,))
def create_definition():
    """A new tool definition, as a draft: nothing is published until /publish."""
    row = definitions.create_draft(_body(), current_user())
    db.session.commit()
    return jsonify(definitions.definition_dict(row)), 201


@bp.get("/admin/tool-definitions")
@roles_required(Role.ADMIN)
@doc("Every tool definition", tags=TAGS, response=DefinitionList)
def list_definitions():
    """All definitions with their draft and the version in force."""
    from sqlalchemy import select

    from app.models.definitions import ToolDefinition

    rows = db.session.execute(select(ToolDefinition).order_by(ToolDefinition.code)).scalars()
    return jsonify({"items": [definitions.definition_dict(r) for r in rows]})


@bp.get("/admin/tool-definitions/<code>")
@roles_required(Role.ADMIN)
@doc("A tool definition: its draft and the version in force", tags=TAGS, response=DefinitionOut, errors=(404,))
def get_definition(code):
    """The draft (what the next publish would publish) and the published version."""
    return jsonify(definitions.definition_dict(definitions.get_definition(code)))


@bp.put("/admin/tool-definitions/<code>")
@roles_required(Role.ADMIN)
@doc("Replace a tool definition's draft", tags=TAGS, body=DefinitionIn, response=DefinitionOut, errors=(404,))
def put_definition(code):
    """The whole draft, replaced; the published version is untouched."""
    row = definitions.update_draft(code, _body(), current_user())
    db.session.commit()
    return jsonify(definitions.definition_dict(row))


@bp.post("/admin/tool-definitions/<code>/publish")
@roles_required(Role.ADMIN)
@doc("Publish the draft as a new version (?dry_run=1: the change report only)", tags=TAGS, body=PublishIn,
     response=ChangeReport, errors=(404, 409))
def publish_definition(code):
    """Publish; 409 definition_change_unresolved (with the report) while existing values would be lost."""
    body = request.get_json(silent=True) or {}
    dry_run = request.args.get("dry_run") in ("1", "true", "yes")
    try:
        report = definitions.publish(code, current_user(), dry_run=dry_run,
                                     resolutions=body.get("resolutions") if isinstance(body, dict) else None)
    except ApiError:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
        return jsonify(report)
    db.session.commit()
    return jsonify(report)


@bp.get("/admin/tool-definitions/<code>/export")
@roles_required(Role.ADMIN)
@doc("A tool definition as one JSON or YAML file (?format=yaml)", tags=TAGS, errors=(404,),
     content_type="application/octet-stream")
def export_definition(code):
    """The draft as a file that `flask toolbox definitions import` (or POST) takes back."""
    row = definitions.get_definition(code)
    fmt = "yaml" if request.args.get("format") == "yaml" else "json"
    return Response(dump_definition(row.draft, fmt), mimetype="application/yaml" if fmt == "yaml"
                    else "application/json",
                    headers={"Content-Disposition": f"attachment; filename={code}.{fmt}"})


# --- the engine: every defined tool's API ------------------------------------------------------------------

engine = Blueprint("defined_tools", __name__, url_prefix="/api/v1/tools/<tool_code>")


@engine.url_value_preprocessor
def _tool_of_url(endpoint, values):
    g.tool_code = values.pop("tool_code", None) if values else None


@engine.url_defaults
def _keep_tool(endpoint, values):
    values.setdefault("tool_code", g.get("tool_code"))


@engine.before_request
def check_tool_access():
    """Before every view of the engine: a defined tool of that code exists and the caller may open it."""
    code = g.tool_code
    tool = current_registry().get(code)
    if tool is None or tool.source != definitions.SOURCE:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    from app.services.toolbox import require_tool_access

    require_tool_access(current_user(), code)


def _published():
    current = definitions.published(g.tool_code)
    if current is None:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    return current


@engine.get("/schema")
@doc("A defined tool's published form: JSON Schema and UI hints", tags=("defined_tools",), response=ToolSchemaOut,
     errors=(404,))
def tool_schema():
    """What the mini-app renders a defined tool's form and list from."""
    current = _published()
    return jsonify(json_schema(current.body, current.version))


@engine.get("/records")
@doc("Records of a defined tool in my scope (?<field>=value filters on filterable fields, ?sort=-field, paging; "
     "total is exact up to 1,000; beyond that it is the planner's estimate and total_exact is false)",
     tags=("defined_tools",), response=RecordPage, errors=(404,))
def list_records():
    """Newest first unless ?sort= names a filterable field (or created_at), `-` for descending."""
    current = _published()
    page, per_page = _paging()
    filters = {k: v for k, v in request.args.items() if k not in ("page", "per_page", "sort")}
    stmt = records.list_statement(current.code, current.body, current_user(), filters, request.args.get("sort"))
    return jsonify(records.page_of(stmt, page, per_page, lambda r: records.view(r, current.body, with_matches=False)))


def _paging() -> tuple[int, int]:
    try:
        page, per_page = int(request.args.get("page", 1)), int(request.args.get("per_page", 20))
    except ValueError:
        raise ApiError(400, "invalid_query", "查询参数有误", "Invalid query parameters") from None
    if page < 1 or not 1 <= per_page <= 100:
        raise ApiError(400, "invalid_query", "页码或每页条数超出范围", "page or per_page out of range")
    return page, per_page


@engine.post("/records")
@doc("Write a record of a defined tool (Idempotency-Key header: a retry writes it once)", tags=("defined_tools",),
     body=RecordIn, response=RecordOut, status=201, errors=(404,))
def create_record():
    """Validated under the published version; its rules may raise (or attach to) a work item."""
    current = _published()
    body = _body()
    user = current_user()
    key = request.headers.get("Idempotency-Key")
    if key:
        if not idempotency.valid_key(key):
            raise ApiError(400, "invalid_idempotency_key", "幂等键格式无效", "Malformed Idempotency-Key")
        earlier, claimed = idempotency.claim(user, key, scope=request.path)
        if earlier is not None and earlier.result_url:
            record = records.get_record(current.code, int(earlier.result_url.rsplit("/", 1)[-1]), user)
            return jsonify(records.view(record, current.body)), 200
    record = records.create_record(current.code, current.body, body.get("values"), user,
                                   org_unit_code=body.get("org_unit"), version=current.version)
    if key:
        claimed.result_url = f"{request.path}/{record.id}"
    db.session.commit()
    return jsonify(records.view(record, current.body)), 201


@engine.get("/records/<int:record_id>")
@doc("One record of a defined tool (personal data masked)", tags=("defined_tools",), response=RecordOut,
     errors=(404,))
def get_record(record_id):
    """The record with its values masked, the work items its rules raised or attached to."""
    current = _published()
    return jsonify(records.view(records.get_record(current.code, record_id, current_user()), current.body))


@engine.patch("/records/<int:record_id>")
@doc("Change a record of a defined tool (the fields sent)", tags=("defined_tools",), body=RecordIn,
     response=RecordOut, errors=(404,))
def patch_record(record_id):
    """Validated under the version in force, which the record then carries."""
    current = _published()
    body = _body()
    record = records.get_record(current.code, record_id, current_user())
    records.update_record(record, current.body, body.get("values", {}), current_user(), version=current.version)
    db.session.commit()
    return jsonify(records.view(record, current.body))


@engine.get("/records/<int:record_id>/personal")
@doc("A record's phone and ID numbers unmasked (audited)", tags=("defined_tools",), errors=(404,),
     response=PersonalOut)
def record_personal(record_id):
    """Whoever may read the record may see them; every view is an audit row."""
    current = _published()
    record = records.get_record(current.code, record_id, current_user())
    shown = records.unmask(record, current.body, current_user())
    db.session.commit()
    return jsonify({"id": record.id, "values": shown})


def document_defined_tools(spec, paths: dict, operation_of, app) -> None:
    """Each published defined tool in the OpenAPI document: its own paths, with its values as a schema."""
    from app.services.definition_schema import object_schema

    engine_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{engine.name}.")]
    for tool in current_registry():
        if tool.source != definitions.SOURCE:
            continue
        current = definitions.published(tool.code)
        if current is None:
            continue
        name = f"{tool.code}.Values"
        values = object_schema(current.body["fields"])
        spec.components.schema(name, component=values)
        for rule in engine_rules:
            path = rule.rule.replace("<tool_code>", tool.code).replace("<int:record_id>", "{record_id}")
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                op = operation_of(rule)
                op["tags"] = [tool.code]
                op["operationId"] = camel(f"{tool.code}_{rule.endpoint.rpartition('.')[2]}")  # one per tool
                op["summary"] = f"{tool.manifest.name}：{op['summary']}"
                op["parameters"] = [p for p in op["parameters"] if p["name"] != "tool_code"]
                if "requestBody" in op:
                    op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["values"],
                        "properties": {"values": {"$ref": f"#/components/schemas/{name}"},
                                       "org_unit": {"type": "string"}}}}}}
                paths.setdefault(path, {})[method.lower()] = op


def init_app(app) -> None:
    app.register_blueprint(engine)
    definitions.init_app(app)
    from app.signals import work_item_changed

    work_item_changed.connect(_reindex_after_change)  # once: blinker keeps a receiver once


def _reindex_after_change(sender, **change):
    tool = current_registry().get(sender) if sender else None
    if tool is None or tool.source != definitions.SOURCE:
        return
    try:
        records.reindex_for_work_item(sender, **change)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
