"""Staff directory administration (安全管理员: people and roles are the security admin's job, 三员分立)."""

from __future__ import annotations

from flask import jsonify, request
from marshmallow import Schema, fields

from app.api import parse_args
from app.auth import current_user, roles_required
from app.errors import ApiError
from app.models.users import Role
from app.schemas import several
from app.services.directory import import_roster
from miniprogram_api import bp
from miniprogram_api.openapi import FileUpload, doc

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class ImportQuery(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={"description": "1: only report what would change"})
    disable_missing = fields.Boolean(load_default=False, metadata={
        "description": "also disable people missing from the file, within `scope` (required with it); never "
                       "the importing person or a holder of the three admin roles"})
    scope = fields.String(metadata={"description": "the unit whose subtree the file covers (with disable_missing)"})


class ChangeOut(Schema):
    userid = fields.String()
    action = fields.String(metadata={"description": "create | update | disable"})
    changes = fields.Dict()


class RowErrorOut(Schema):
    row = fields.Integer(metadata={"description": "spreadsheet row number (the header is row 1)"})
    userid = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.String())


class ImportOut(Schema):
    created, updated, disabled, unchanged, errors = several(fields.Integer, 5)
    changes = fields.List(fields.Nested(ChangeOut))
    row_errors = fields.List(fields.Nested(RowErrorOut))
    notes = fields.List(fields.String())
    dry_run = fields.Boolean()


class SyncQuery(Schema):
    dry_run = fields.Boolean(load_default=False)
    disable_imported = fields.Boolean(load_default=False, metadata={
        "description": "also disable people from a spreadsheet import who are not in WeCom"})


class SyncOut(Schema):
    job_id = fields.String()
    status = fields.String()
    result = fields.Dict(allow_none=True)


@bp.post("/admin/directory/import")
@roles_required(Role.SECURITY_ADMIN)
@doc("Import staff from a CSV/XLSX file (multipart `file`: userid, name, mobile, unit code, role); "
     "dry_run=1 lists the changes and row errors (security admin)", tags=("admin",), query=ImportQuery,
     form=FileUpload, response=ImportOut, errors=(413, 422))
def import_directory():
    """Add and update staff from a spreadsheet (disable the missing only when asked); any bad row rejects the file."""
    args = parse_args(ImportQuery())
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "file_required", "请上传 CSV 或 XLSX 文件", "Upload the roster as multipart field `file`")
    data = upload.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise ApiError(413, "payload_too_large", "文件过大（上限 5 MB）", "The file is larger than 5 MB")
    plan = import_roster(upload.filename, data, actor=current_user(), dry_run=args["dry_run"],
                         scope_code=args.get("scope"), disable_missing=args["disable_missing"])
    body = ImportOut().dump({**plan.to_dict(), "dry_run": args["dry_run"] or bool(plan.errors)})
    if plan.errors and not args["dry_run"]:
        raise ApiError(422, "import_rejected", "文件中有错误行，未做任何修改", "Rows have errors; nothing was changed",
                       row_errors=body["row_errors"])
    return jsonify(body)


@bp.post("/admin/directory/sync")
@roles_required(Role.SECURITY_ADMIN)
@doc("Queue a WeCom directory sync (security admin)", tags=("admin",), query=SyncQuery, response=SyncOut,
     status=202)
def sync_directory():
    """Queue the directory sync job; without Redis it runs now and its result is returned."""
    from app.wecom.directory import sync_directory_job

    args = parse_args(SyncQuery())
    handle = sync_directory_job.delay(args["dry_run"], args["disable_imported"])
    status = handle.get_status()
    result = handle.result if getattr(handle, "is_finished", False) else None
    return jsonify({"job_id": handle.id, "status": str(status), "result": result}), 202
