"""/api/v1/exports: Excel exports of every list (一键导出), as background jobs the caller follows."""

from __future__ import annotations

from flask import jsonify, send_file
from marshmallow import Schema, fields

from app.api import parse_json
from app.auth import current_user
from app.errors import ApiError
from app.services import exports
from app.services.exports.jobs import file_path
from miniprogram_api import bp
from miniprogram_api.openapi import doc


class ExportIn(Schema):
    source = fields.String(required=True, metadata={"description": "work_items, staff, audit_log, indicators, "
                                                                   "<tool>.<table> … (GET /exports/sources)"})
    filters = fields.Dict(load_default=dict, metadata={"description": "e.g. state, tool, category, unit, from, to"})
    unmask = fields.Boolean(load_default=False, metadata={"description": "personal data in full (audited)"})


class ExportOut(Schema):
    id, source, status = fields.String(), fields.String(), fields.String()
    filters = fields.Dict()
    unmask = fields.Boolean()
    done = fields.Integer()
    total = fields.Integer(allow_none=True)
    progress = fields.Float(allow_none=True, metadata={"description": "0..1"})
    sheets = fields.Integer()
    file_name = fields.String(allow_none=True)
    file_bytes = fields.Integer(allow_none=True)
    file_url = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at, expires_at = fields.DateTime(), fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ExportList(Schema):
    items = fields.List(fields.Nested(ExportOut))


class SourceList(Schema):
    items = fields.List(fields.Dict(), metadata={"description": "[{code, name}] the lists you may export"})


_out = ExportOut()


def _dump(export) -> dict:
    progress = None
    if export.status == "finished":
        progress = 1.0
    elif export.total:
        progress = round(min(export.done / export.total, 1.0), 4)
    body = {c: getattr(export, c) for c in ("id", "source", "status", "filters", "unmask", "done", "total", "sheets",
                                            "file_name", "file_bytes", "error", "created_at", "expires_at",
                                            "finished_at")}
    body["progress"] = progress
    body["file_url"] = f"/api/v1/exports/{export.id}/file" if export.status == "finished" else None
    return _out.dump(body)


@bp.post("/exports")
@doc("Export a list to Excel as a background job (一键导出)", tags=("exports",), body=ExportIn, response=ExportOut,
     status=202, errors=(403, 422))
def create_export():
    """202 with the export's id; follow it at /exports/<id>. 422 names the sources you may export."""
    data = parse_json(ExportIn())
    export = exports.request_export(current_user(), data["source"], data["filters"], data["unmask"])
    return jsonify(_dump(export)), 202


@bp.get("/exports")
@doc("My exports that have not expired", tags=("exports",), response=ExportList)
def list_exports():
    """Newest first."""
    return jsonify({"items": [_dump(e) for e in exports.my_exports(current_user())]})


@bp.get("/exports/sources")
@doc("The lists I may export", tags=("exports",), response=SourceList)
def list_export_sources():
    """Each source's code and Chinese name."""
    return jsonify({"items": exports.sources_for(current_user())})


@bp.get("/exports/<hex:export_id>")
@doc("One of my exports: status and progress", tags=("exports",), response=ExportOut, errors=(404,))
def get_export(export_id: str):
    """404 for someone else's export or an expired one."""
    return jsonify(_dump(exports.my_export(current_user(), export_id)))


@bp.get("/exports/<hex:export_id>/file")
@doc("The .xlsx of a finished export", tags=("exports",), errors=(404, 409),
     content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def get_export_file(export_id: str):
    """409 while it is still being written."""
    export = exports.my_export(current_user(), export_id)
    if export.status != "finished":
        raise ApiError(409, "export_not_ready", "导出尚未完成", "The export is not finished", status=export.status)
    return send_file(file_path(export), as_attachment=True, download_name=export.file_name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
