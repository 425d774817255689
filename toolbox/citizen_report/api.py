"""Staff API of the citizen reporting tool (/api/v1/tools/citizen_report/).

The registry checks that the caller may open the tool before every view here.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.toolkit import (
    ApiError,
    PageArgs,
    PageOut,
    Place,
    Role,
    audit,
    current_user,
    db,
    doc,
    paged,
    parse_args,
    parse_json,
    roles_required,
    scoped,
    several,
)
from toolbox.citizen_report.manifest import CODE, MANIFEST
from toolbox.citizen_report.models import CitizenReport, Open311ApiKey, ReportStatus
from toolbox.citizen_report.open311 import issue_api_key
from toolbox.citizen_report.services import reveal_contact as reveal
from toolbox.citizen_report.services import staff_may_read, staff_view

bp = Blueprint(CODE, __name__)


class ReportQuery(PageArgs):
    category = fields.String(validate=validate.OneOf([c.code for c in MANIFEST.categories]))
    place = fields.String(metadata={"description": "place code"})
    status = fields.String(validate=validate.OneOf([ReportStatus.FILED, ReportStatus.JOINED, ReportStatus.DRAFT]))
    work_item_id = fields.Integer()


class ReportOut(Schema):
    id, status = fields.Integer(), fields.String()
    source = fields.String(metadata={"description": "h5 | open311"})
    place = fields.Dict(allow_none=True)
    category, category_name, description = several(fields.String, 3)
    address = fields.String(allow_none=True)
    photos = fields.List(fields.Dict())
    mobile = fields.String(allow_none=True, metadata={"description": "masked: 138****5678"})
    has_mobile = fields.Boolean()
    work_item = fields.Dict(allow_none=True)
    rating = fields.String(allow_none=True)
    anonymised = fields.Boolean()


class ReportPage(PageOut):
    items = fields.List(fields.Nested(ReportOut))


class ContactOut(Schema):
    mobile = fields.String()
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class ApiKeyIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))


class ApiKeyOut(Schema):
    id, name, key_prefix = fields.Integer(), fields.String(), fields.String()
    active = fields.Boolean()
    created_by = fields.String(allow_none=True)
    last_used_at = fields.String(allow_none=True, metadata={"description": "ISO date-time"})


class NewApiKeyOut(ApiKeyOut):
    api_key = fields.String(metadata={"description": "shown once: store it"})


class ApiKeyList(Schema):
    items = fields.List(fields.Nested(ApiKeyOut))


def _report(report_id: int) -> CitizenReport:
    report = db.session.get(CitizenReport, report_id)
    if report is None or not _visible(report):
        raise ApiError(404, "report_not_found", "随手拍记录不存在", "No such report")
    return report


def _visible(report: CitizenReport) -> bool:
    """Staff in scope of the place, or anyone who may read the work item it is handled in."""
    return staff_may_read(current_user(), report)


@bp.get("/reports")
@doc("Citizen reports at places in my scope (phone numbers masked)", tags=("citizen_report",), query=ReportQuery,
     response=ReportPage)
def list_reports():
    """Reports filed at places in the caller's data scope, newest first."""
    args = parse_args(ReportQuery())
    stmt = scoped(select(CitizenReport), CitizenReport.org_path, current_user()).order_by(CitizenReport.id.desc())
    if "category" in args:
        stmt = stmt.where(CitizenReport.category == args["category"])
    if "status" in args:
        stmt = stmt.where(CitizenReport.status == args["status"])
    else:
        stmt = stmt.where(CitizenReport.status != ReportStatus.DISCARDED)
    if "work_item_id" in args:
        stmt = stmt.where(CitizenReport.work_item_id == args["work_item_id"])
    if "place" in args:
        stmt = stmt.join(Place, Place.id == CitizenReport.place_id).where(Place.code == args["place"].upper())
    return paged(stmt, staff_view, args)


@bp.get("/reports/<int:report_id>")
@doc("One citizen report (phone masked)", tags=("citizen_report",), response=ReportOut, errors=(404,))
def get_report(report_id: int):
    """One report with its photos (release them via /api/v1/attachments/<id>/release)."""
    return jsonify(staff_view(_report(report_id)))


@bp.post("/reports/<int:report_id>/contact")
@doc("Reveal the citizen's phone number: only the assigned handler; every view is audited",
     tags=("citizen_report",), response=ContactOut, errors=(403, 404))
def reveal_contact(report_id: int):
    """Unmasked contact for a call-back, for the handler who signed for the work item."""
    return jsonify(reveal(_report(report_id), current_user()))


@bp.get("/open311-keys")
@roles_required(Role.ADMIN)
@doc("Open311 API keys (admin)", tags=("citizen_report",), response=ApiKeyList)
def list_api_keys():
    """Every issued Open311 key (prefix only)."""
    rows = db.session.execute(select(Open311ApiKey).order_by(Open311ApiKey.id)).scalars()
    return jsonify({"items": [r.to_dict() for r in rows]})


@bp.post("/open311-keys")
@roles_required(Role.ADMIN)
@doc("Issue an Open311 api_key for a civic-tech client; the key is returned once (admin)",
     tags=("citizen_report",), body=ApiKeyIn, status=201, response=NewApiKeyOut)
def create_api_key():
    """A new key; store it, it is not shown again."""
    args = parse_json(ApiKeyIn())
    key, row = issue_api_key(args["name"], current_user())
    return jsonify({**row.to_dict(), "api_key": key}), 201


@bp.delete("/open311-keys/<int:key_id>")
@roles_required(Role.ADMIN)
@doc("Revoke an Open311 api_key (admin)", tags=("citizen_report",), errors=(404,), response=ApiKeyOut)
def revoke_api_key(key_id: int):
    """Deactivate a key."""
    row = db.session.get(Open311ApiKey, key_id)
    if row is None:
        raise ApiError(404, "api_key_not_found", "密钥不存在", "No such key")
    row.active = False
    audit.record("open311.key_revoke", target_type="open311_key", target_id=row.id)
    db.session.commit()
    return jsonify(row.to_dict())
