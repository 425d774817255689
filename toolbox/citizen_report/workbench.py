"""静安码随手拍 in the staff workbench: the citizens' reports in my scope, each opening its work item."""

from __future__ import annotations

from sqlalchemy import select

from app.toolkit import (
    Badge,
    ListPage,
    Row,
    Tab,
    ToolScreens,
    WorkItem,
    db,
    local_dt,
    page_rows,
    scope_clause,
)
from toolbox.citizen_report.manifest import CODE
from toolbox.citizen_report.models import CitizenReport, ReportStatus
from toolbox.citizen_report.services import CITIZEN_STATE_LABELS, categories

screens = ToolScreens(CODE, home="reports")


@screens.record("report")
def report_url(ident) -> str:
    report = db.session.get(CitizenReport, int(ident))
    if report is None or report.work_item_id is None:
        return screens.url("reports")
    return f"/h5/staff/items/{report.work_item_id}"


@screens.list("reports", "随手拍")
def reports(user, args) -> ListPage:
    names = categories()
    category = args.get("category") if args.get("category") in names else None
    stmt = select(CitizenReport).where(scope_clause(CitizenReport.org_path, user),
                                       CitizenReport.status.in_([ReportStatus.FILED, ReportStatus.JOINED]))
    if category:
        stmt = stmt.where(CitizenReport.category == category)
    rows, pages, total = page_rows(stmt.order_by(CitizenReport.created_at.desc(), CitizenReport.id.desc()),
                               args["page"])
    items = {r.id: r.work_item_id for r in rows}
    states = dict(db.session.execute(select(WorkItem.id, WorkItem.state).where(
        WorkItem.id.in_([i for i in items.values() if i]))).all()) if rows else {}
    return ListPage(
        title="静安码随手拍", active_tab=category or "all", page=args["page"], pages=pages, total=total,
        tabs=[Tab("all", "全部", screens.url("reports"))] + [
            Tab(code, name[:4], screens.url("reports", category=code)) for code, name in names.items()],
        rows=[Row(f"{r.place.name if r.place else ''}：{names.get(r.category, r.category)}",
                  f"/h5/staff/items/{r.work_item_id}" if r.work_item_id else None, r.description[:60],
                  [Badge(CITIZEN_STATE_LABELS.get(states.get(r.work_item_id, ""), "已提交"), "info")],
                  [("上报", local_dt(r.created_at, "%m-%d %H:%M"))]) for r in rows],
        empty="您的范围内暂无市民上报")
