"""Requesting, running and expiring exports. The job streams rows into an .xlsx with openpyxl's
write-only workbook (rows are never all in memory), one sheet per EXPORT_SHEET_ROWS rows (Excel's
limit by default), Chinese headers, Beijing time, personal data masked unless the caller may unmask
it — and then audited. Every export is audited when asked for and when finished."""

from __future__ import annotations

import os
import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from openpyxl import Workbook
from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.jobs import job, periodic
from app.models.base import utcnow
from app.models.export import ExportJob
from app.models.users import User
from app.services import audit
from app.services.crypto import mask_mobile, mask_name
from app.services.exports.sources import ExportColumn, export_source, export_sources
from app.services.workdays import TZ

EXCEL_MAX_ROWS = 1_048_576  # rows in one sheet, the header included
PROGRESS_EVERY = 2000
MASKS = {"mobile": mask_mobile, "name": mask_name}


def _mask(value, kind: str):
    if value in (None, ""):
        return value
    text = str(value)
    if kind in MASKS:
        return MASKS[kind](text)
    return text[:1] + "*" * max(len(text) - 2, 1) + (text[-1:] if len(text) > 2 else "")  # ID numbers, e-mail


def cell(value, column: ExportColumn, unmask: bool):
    """One value as the spreadsheet shows it."""
    if column.personal and not unmask:
        return _mask(value, column.personal)
    if isinstance(value, datetime):
        return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, dict)):
        return str(value)
    return value


def export_dir() -> str:
    folder = os.path.join(current_app.config["MEDIA_ROOT"], "exports")
    os.makedirs(folder, exist_ok=True)
    return folder


def file_path(export: ExportJob) -> str:
    return os.path.join(export_dir(), f"{export.id}.xlsx")


def sources_for(user) -> list[dict]:
    return [s.to_dict() for s in export_sources().values() if s.allowed(user)]


def request_export(user: User, code: str, filters: dict | None, unmask: bool = False) -> ExportJob:
    """Check, record and audit an export, commit, then queue its job. 422 unknown source, 403 not yours."""
    source = export_source(code)
    allowed = sources_for(user)
    if source is None:
        raise ApiError(422, "unknown_export_source", "没有该导出数据源", "No such export source",
                       allowed=[s["code"] for s in allowed])
    if not source.allowed(user):
        raise ApiError(403, "export_forbidden", "您无权导出该数据", "You may not export this list")
    if unmask and not source.may_unmask(user):
        raise ApiError(403, "unmask_forbidden", "您无权导出未脱敏的个人信息",
                       "You may not export unmasked personal data")
    filters = dict(filters or {})
    source.count(user, filters)  # bad filters answer now (422), not in the job
    now = utcnow()
    export = ExportJob(id=secrets.token_hex(16), user_id=user.id, source=code, filters=filters, unmask=unmask,
                       status="queued", created_at=now,
                       expires_at=now + timedelta(hours=current_app.config["EXPORT_TTL_HOURS"]))
    db.session.add(export)
    audit.record("export.request", target_type="export", target_id=export.id, actor=user,
                 detail={"source": code, "filters": filters, "unmask": unmask})
    db.session.commit()
    export_id = export.id
    run_export.delay(export_id)
    db.session.expire_all()
    return db.session.get(ExportJob, export_id)


def _progress(export: ExportJob, done: int) -> None:
    export.done = done
    db.session.commit()


@job("default", timeout=6 * 3600)
def run_export(export_id: str) -> dict:
    """Write the .xlsx of one export; its row follows (status, done/total, sheets)."""
    export = db.session.get(ExportJob, export_id)
    if export is None or export.status not in ("queued", "failed"):
        return {"skipped": export_id}
    user, source = db.session.get(User, export.user_id), export_source(export.source)
    export.status, export.done = "running", 0
    export.total = source.count(user, export.filters)
    db.session.commit()
    try:
        result = _write(export, user, source)
    except Exception as exc:  # noqa: BLE001 - the row says what failed; RQ retries
        db.session.rollback()
        export = db.session.get(ExportJob, export_id)
        export.status, export.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        raise
    return result


def _write(export: ExportJob, user: User, source) -> dict:
    export_id, unmask, filters = export.id, export.unmask, dict(export.filters)
    columns = source.columns_for(user, filters)
    per_sheet = min(current_app.config["EXPORT_SHEET_ROWS"], EXCEL_MAX_ROWS - 1)
    book = Workbook(write_only=True)
    sheet, sheets, in_sheet, done = None, 0, per_sheet, 0
    for values in source.rows(user, filters):
        if in_sheet >= per_sheet:
            sheets += 1
            sheet = book.create_sheet(source.name[:25] if sheets == 1 else f"{source.name[:25]}{sheets}")
            sheet.append([c.label for c in columns])
            in_sheet = 0
        sheet.append([cell(values.get(c.key), c, unmask) for c in columns])
        in_sheet, done = in_sheet + 1, done + 1
        if done % PROGRESS_EVERY == 0:
            _progress(db.session.get(ExportJob, export_id), done)
    if sheet is None:  # nothing to export: still a workbook with its headers
        sheets = 1
        book.create_sheet(source.name[:25]).append([c.label for c in columns])
    path = file_path(export)
    book.save(path + ".part")
    os.replace(path + ".part", path)
    export = db.session.get(ExportJob, export_id)
    export.status, export.done, export.sheets, export.finished_at = "finished", done, sheets, utcnow()
    export.file_name = f"{source.name}-{utcnow().astimezone(TZ):%Y%m%d%H%M}.xlsx"
    export.file_bytes = os.path.getsize(path)
    audit.record("export.finished", target_type="export", target_id=export_id, actor=user,
                 detail={"source": export.source, "rows": done, "sheets": sheets, "unmask": unmask})
    if unmask:
        audit.record("export.unmask", target_type="export", target_id=export_id, actor=user,
                     detail={"source": export.source, "rows": done,
                             "columns": [c.label for c in columns if c.personal]})
    db.session.commit()
    return {"rows": done, "sheets": sheets}


def my_exports(user: User) -> list[ExportJob]:
    return list(db.session.execute(select(ExportJob).where(
        ExportJob.user_id == user.id, ExportJob.expires_at > utcnow(), ExportJob.status != "expired")
        .order_by(ExportJob.created_at.desc())).scalars())


def my_export(user: User, export_id: str) -> ExportJob:
    """One of the caller's exports (someone else's is 404, as if it did not exist)."""
    export = db.session.get(ExportJob, export_id)
    if export is None or export.user_id != user.id or export.status == "expired" or export.expires_at <= utcnow():
        raise ApiError(404, "export_not_found", "导出不存在或已过期", "No such export (or it has expired)")
    return export


@periodic("exports.expire", 3600)
@job("default")
def expire_exports() -> int:
    """Delete the files of exports past their time and mark them expired."""
    rows = db.session.execute(select(ExportJob).where(
        ExportJob.expires_at <= utcnow(), ExportJob.status != "expired")).scalars().all()
    for export in rows:
        path = file_path(export)
        if os.path.exists(path):
            os.remove(path)
        export.status = "expired"
    db.session.commit()
    return len(rows)
