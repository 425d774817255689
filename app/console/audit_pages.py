"""审计管理员: the audit log with filters, the hash-chain verification, export of a filtered log (the export
jobs of issue 17, as .xlsx)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import g, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from app.console import page
from app.console.helpers import arg, paged
from app.errors import ApiError
from app.extensions import db
from app.models.audit import AuditLog
from app.models.users import Role
from app.services import audit
from app.services.workdays import TZ

AUDITOR = Role.AUDIT_ADMIN
FILTERS = ("actor", "action", "target_type", "target_id", "since", "until", "outcome")


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(arg(name)) if arg(name) else None
    except ValueError:
        return None


def _filtered():
    """The log, newest first, narrowed by the filters in the URL (who, what, when, which record)."""
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    for column in ("actor", "action", "target_type", "target_id", "outcome"):
        if arg(column):
            stmt = stmt.where(getattr(AuditLog, column) == arg(column))
    since, until = _day("since"), _day("until")
    if since:  # dates are Beijing days
        stmt = stmt.where(AuditLog.at >= datetime.combine(since, time.min, TZ))
    if until:
        stmt = stmt.where(AuditLog.at < datetime.combine(until + timedelta(days=1), time.min, TZ))
    return stmt


def _filter_errors() -> dict:
    return {name: "日期格式应为 YYYY-MM-DD" for name in ("since", "until") if arg(name) and _day(name) is None}


def _applied() -> dict:
    return {k: arg(k) for k in FILTERS if arg(k)}


@page("/audit", AUDITOR, title="审计日志")
def audit_log():
    """The audit trail with filters; reading it is itself audited (as GET /api/v1/admin/audit-log)."""
    result = paged(_filtered())
    audit.record("audit.read", detail={**_applied(), "page": result.page, "via": "console"})
    db.session.commit()
    return render_template("console/audit.html", title="审计日志", page=result, filters=_applied(),
                           errors=_filter_errors())


@page("/audit/verify", AUDITOR, title="哈希链校验", methods=("GET", "POST"))
def audit_verify():
    """Walk the hash chain (as `flask toolbox audit-verify`) and show the result and the first broken link."""
    result = None
    if request.method == "POST":
        checked, problems = audit.verify_chain()
        result = {"checked": checked, "problems": problems, "first": problems[0] if problems else None}
        audit.record("audit.verify", outcome="ok" if not problems else "broken",
                     detail={"checked": checked, "problems": len(problems),
                             "first_broken_row": problems[0].row_id if problems else None})
        db.session.commit()
    return render_template("console/verify.html", title="哈希链校验", result=result)


@page("/audit/export", AUDITOR, methods=("POST",))
def audit_export():
    """The filtered log to Excel, through the export jobs (一键导出): requested, run and downloaded as audited there."""
    from app.services.exports import request_export

    args = request.form
    filters = {"from": args.get("since", ""), "to": args.get("until", ""), "action": args.get("action", ""),
               **{k: args.get(k, "") for k in ("actor", "target_type", "target_id", "outcome")}}
    export = request_export(g.user, "audit_log", {k: v.strip() for k, v in filters.items() if v.strip()})
    return redirect(url_for("console.audit_export_status", export_id=export.id))


@page("/audit/exports/<export_id>", AUDITOR)
def audit_export_status(export_id: str):
    """The export's progress (the page refreshes itself until the job is done), then its file."""
    from app.services.exports import my_export

    return render_template("console/export.html", title="导出审计日志", export=my_export(g.user, export_id))


@page("/audit/exports/<export_id>/file", AUDITOR)
def audit_export_file(export_id: str):
    """The .xlsx of a finished export (someone else's is 404)."""
    from app.services.exports import my_export
    from app.services.exports.jobs import file_path

    export = my_export(g.user, export_id)
    if export.status != "finished":
        raise ApiError(409, "export_not_ready", "导出尚未完成", "The export is not finished")
    return send_file(file_path(export), as_attachment=True, download_name=export.file_name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
