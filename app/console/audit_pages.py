"""审计管理员: the audit log with filters, the hash-chain verification, export of a filtered log (CSV)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta

from flask import Response, g, render_template, request
from sqlalchemy import select

from app.console import page
from app.console.helpers import arg, paged
from app.extensions import db
from app.models.audit import AuditLog
from app.models.users import Role
from app.services import audit
from app.services.workdays import TZ

AUDITOR = Role.AUDIT_ADMIN
FILTERS = ("actor", "action", "target_type", "target_id", "since", "until", "outcome")
EXPORT_LIMIT = 100_000


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


@page("/audit/export.csv", AUDITOR)
def audit_export():
    """The filtered log as CSV (UTF-8 with BOM, so Excel reads the Chinese); the export is audited."""
    rows = db.session.execute(_filtered().limit(EXPORT_LIMIT)).scalars().all()
    buf = io.StringIO()
    buf.write("\ufeff")
    out = csv.writer(buf)
    out.writerow(["编号", "时间（北京）", "操作人", "操作", "对象类型", "对象", "结果", "IP", "详情", "哈希"])
    for row in rows:
        out.writerow([row.id, _beijing(row.at), row.actor or "", row.action, row.target_type or "", row.target_id or "",
                      row.outcome, row.ip or "", json.dumps(row.detail or {}, ensure_ascii=False), row.hash])
    audit.record("audit.export", detail={**_applied(), "rows": len(rows), "format": "csv"},
                 actor=g.user)
    db.session.commit()
    stamp = datetime.now(TZ).strftime("%Y%m%d-%H%M")
    return Response(buf.getvalue().encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'})


def _beijing(at: datetime) -> str:
    from app.web.filters import local_dt
    return local_dt(at, "%Y-%m-%d %H:%M:%S")
