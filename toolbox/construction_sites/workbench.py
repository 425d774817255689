"""小型工地管理 in the staff workbench: site lists, registration, the checklist inspection with photos."""

from __future__ import annotations

from flask import flash
from sqlalchemy import select

from app.toolkit import (
    Action,
    ApiError,
    Badge,
    DetailPage,
    DetailSection,
    Field,
    FormScreen,
    ListPage,
    OrgLevel,
    Row,
    Section,
    Tab,
    ToolScreens,
    db,
    ensure_in_scope,
    form,
    iso,
    load_with,
    local_dt,
    page_rows,
    scope_clause,
    unit_choices,
    unit_in_scope,
)
from app.toolkit import (
    Form as FormDesc,
)
from toolbox.construction_sites import services
from toolbox.construction_sites.api import MANAGING_ROLES
from toolbox.construction_sites.models import CHECKLIST, CODE, WORK_KINDS, Inspection, Site, SiteStatus
from toolbox.construction_sites.schemas import SiteIn

screens = ToolScreens(CODE, home="sites")
VIEWS = {"all": "全部", "open_problems": "有问题", "overdue_inspection": "久未检查", "ending_soon": "即将完工"}
RESULTS = (("pass", "合格"), ("fail", "不合格"))


def _site(user, ident, *roles) -> Site:
    site = db.session.get(Site, ident)
    if site is None:
        raise ApiError(404, "site_not_found", "工地不存在", "No such construction site")
    ensure_in_scope(user, site.org_path, *roles)
    return site


@screens.record("site")
def site_url(ident) -> str:
    return screens.url("sites", ident)


@screens.record("inspection")
def inspection_url(ident) -> str:
    inspection = db.session.get(Inspection, int(ident))
    return screens.url("sites", inspection.site_id) if inspection else screens.url("sites")


@screens.list("sites", "小型工地")
def sites(user, args) -> ListPage:
    view = args.get("view") if args.get("view") in VIEWS else "all"
    q = (args.get("q") or "").strip()[:100] or None
    stmt = services.sites_query(None if view == "all" else view, None, None, q)
    rows, pages, total = page_rows(stmt.where(scope_clause(Site.org_path, user)), args["page"])
    problems = {s.id for s in rows if services.open_problems(s)}
    actions = [Action("登记工地", screens.form_url("register"), "primary")] if user.has_role(*MANAGING_ROLES) else []
    return ListPage(
        title="小型工地", active_tab=view, page=args["page"], pages=pages, total=total, search=q or "",
        tabs=[Tab(k, label, screens.url("sites", view=k)) for k, label in VIEWS.items()], actions=actions,
        rows=[Row(s.name, site_url(s.id), s.address,
                  ([Badge("有问题", "danger")] if s.id in problems else [])
                  + ([Badge("已关闭")] if s.status == SiteStatus.CLOSED else []),
                  [("施工单位", s.contractor_name), ("上次检查", local_dt(s.last_inspected_at, "%m-%d") or "未检查"),
                   ("竣工", s.end_date.isoformat())]) for s in rows],
        empty="没有符合条件的工地")


def _problem_row(p) -> Row:
    url = f"/h5/staff/items/{p.work_item_id}" if p.work_item_id else None
    badges = [Badge(p.work_item_number, "warn")] if p.work_item_number else []
    return Row(f"{CHECKLIST.get(p.item, p.item)}不合格", url, p.note, badges)


def _inspection_row(i: Inspection) -> Row:
    passed = i.result == "pass"
    return Row(f"{local_dt(i.inspected_at)} 检查", None, i.remarks,
               [Badge("合格", "ok") if passed else Badge("不合格", "danger")], [("检查人", i.inspector.name)])


@screens.detail("sites")
def site(user, ident) -> DetailPage:
    s = _site(user, ident)
    problems = services.open_problems(s)
    inspections = db.session.execute(select(Inspection).where(Inspection.site_id == s.id).order_by(
        Inspection.inspected_at.desc()).limit(10)).scalars().all()
    actions = [Action("检查", screens.form_url("inspect", id=s.id), "primary")] if s.status == SiteStatus.ACTIVE else []
    if s.place_code:
        actions.append(Action("静安码", f"/h5/staff/places/{s.place_code}"))
    night = s.night_work_permit_number if s.night_work_permitted else "不允许"
    return DetailPage(
        title=s.name, subtitle=s.address, back_url=screens.url("sites"), actions=actions,
        badges=[Badge("在建", "ok") if s.status == SiteStatus.ACTIVE else Badge("已关闭")]
        + ([Badge(f"{len(problems)} 项未整改", "danger")] if problems else []),
        sections=[
            DetailSection("未整改问题", rows=[_problem_row(p) for p in problems], note="" if problems else "无"),
            DetailSection("基本信息", items=[
                ("所属单位", s.org_unit.name), ("施工类型", WORK_KINDS.get(s.work_kind, s.work_kind)),
                ("工期", f"{s.start_date} 至 {s.end_date}"), ("建设单位", f"{s.owner_name}（{s.owner_contact}）"),
                ("施工单位", f"{s.contractor_name}（{s.contractor_contact}）"), ("施工许可证", s.permit_number),
                ("夜间施工", night), ("静安码", s.place_code)]),
            DetailSection("检查记录", rows=[_inspection_row(i) for i in inspections],
                          photos=list(inspections[0].photo_ids) if inspections else [],
                          note="" if inspections else "尚未检查"),
        ])


@screens.form("inspect")
def inspect_form(user, args) -> FormScreen:
    s = _site(user, _ident(args))

    def save(values: dict) -> str:
        lines = [{"item": line["item"], "passed": line["result"] == "pass", "note": line["note"],
                  "photo_ids": line["photo_ids"]} for line in values["items"]]
        inspection = services.inspect(s, lines, user, remarks=values["remarks"] or "", photo_ids=values["photos"])
        failed = [line for line in inspection.items if not line.passed]
        flash(f"检查已提交：{len(failed)} 项不合格，已转为工单" if failed else "检查已提交：全部合格", "ok")
        return site_url(s.id)

    return FormScreen(
        form=FormDesc(f"检查：{s.name}", (
            Section("检查清单", (Field("items", "逐项检查", "checklist", required=True, options=RESULTS,
                                       lines=tuple(CHECKLIST.items()), note_required_for=("fail",),
                                       help="不合格项须填写问题说明，可附照片；不合格项将自动转为工单。"),)),
            Section("现场", (Field("remarks", "检查备注", "textarea", max_length=2000),
                              Field("photos", "现场照片", "photos", max_photos=9))),
        ), submit_label="提交检查"),
        save=save, back_url=site_url(s.id))


def _ident(args) -> int:
    try:
        return int(args.get("id", ""))
    except ValueError:
        raise ApiError(404, "not_found", "记录不存在", "No such record") from None


@screens.form("register")
def register_form(user, args) -> FormScreen:
    if not user.has_role(*MANAGING_ROLES):
        raise ApiError(403, "role_required", "只有派单员和负责人可以登记工地", "Operators and managers register sites")
    units = unit_choices(user, MANAGING_ROLES, (OrgLevel.STREET, OrgLevel.GRID, OrgLevel.COMMITTEE))

    def save(values: dict) -> str:
        location = values.pop("location") or {}
        payload = {**values, "start_date": iso(values["start_date"]), "end_date": iso(values["end_date"]),
                   "lat": location.get("lat"), "lng": location.get("lng")}
        data = load_with(SiteIn(), payload)
        unit = unit_in_scope(user, data.pop("org_unit"), MANAGING_ROLES)
        site_ = services.register_site(data, unit, user)
        flash(f"已登记工地「{site_.name}」，静安码 {site_.place_code}", "ok")
        return site_url(site_.id)

    return FormScreen(form=form(
        "登记工地",
        Field("name", "工地名称", required=True, max_length=100),
        Field("address", "地址", required=True, max_length=200),
        Field("org_unit", "所属单位", "choice", required=True, options=units),
        Field("location", "位置", "location"),
        Field("work_kind", "施工类型", "choice", required=True, options=tuple(WORK_KINDS.items())),
        Field("owner_name", "建设单位", required=True, max_length=100),
        Field("owner_contact", "建设单位联系人", required=True, max_length=50),
        Field("owner_phone", "建设单位联系电话", "phone", required=True),
        Field("contractor_name", "施工单位", required=True, max_length=100),
        Field("contractor_contact", "施工单位联系人", required=True, max_length=50),
        Field("contractor_phone", "施工单位联系电话", "phone", required=True),
        Field("permit_number", "施工许可证号", max_length=64),
        Field("start_date", "开工日期", "date", required=True),
        Field("end_date", "竣工日期", "date", required=True),
        Field("night_work_permitted", "允许夜间施工", "bool"),
        Field("night_work_permit_number", "夜间施工许可证号", max_length=64),
        Field("description", "工程说明", "textarea", max_length=2000),
        submit_label="登记"), save=save, back_url=screens.url("sites"))
