"""外墙高坠隐患排查 in the staff workbench: buildings, the graded inspection, street progress."""

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
    has_open_work_item,
    load_with,
    local_dt,
    open_work_items_for,
    page_rows,
    scope_clause,
    text_matches,
    unit_choices,
    unit_in_scope,
)
from app.toolkit import (
    Form as FormDesc,
)
from toolbox.facade_inspection import services
from toolbox.facade_inspection.api import MANAGING_ROLES
from toolbox.facade_inspection.models import CODE, GRADES, ITEMS, STRUCTURES, Building, FacadeInspection
from toolbox.facade_inspection.schemas import BuildingIn

screens = ToolScreens(CODE, home="buildings")
VIEWS = {"all": "全部", "high": "高风险", "rectification": "整改中", "uninspected": "未排查"}
TONES = {"none": "ok", "low": "info", "medium": "warn", "high": "danger"}


def _building(user, ident) -> Building:
    building = db.session.get(Building, ident)
    if building is None:
        raise ApiError(404, "building_not_found", "楼宇不存在", "No such building")
    ensure_in_scope(user, building.org_path)
    return building


def _risk_badge(risk: str | None) -> Badge:
    return Badge(GRADES[risk], TONES[risk]) if risk else Badge("未排查")


@screens.record("building")
def building_url(ident) -> str:
    return screens.url("buildings", ident)


@screens.record("inspection")
def inspection_url(ident) -> str:
    inspection = db.session.get(FacadeInspection, int(ident))
    return building_url(inspection.building_id) if inspection else screens.url("buildings")


@screens.list("buildings", "外墙排查")
def buildings(user, args) -> ListPage:
    view = args.get("view") if args.get("view") in VIEWS else "all"
    q = (args.get("q") or "").strip()[:100]
    stmt = select(Building).where(scope_clause(Building.org_path, user))
    if view == "high":
        stmt = stmt.where(Building.risk_level == "high")
    elif view == "rectification":
        stmt = stmt.where(has_open_work_item(Building))
    elif view == "uninspected":
        stmt = stmt.where(Building.risk_level.is_(None))
    if q:
        stmt = stmt.where(text_matches(q, Building.name, Building.address))
    rows, pages, total = page_rows(stmt.order_by(Building.org_path, Building.id), args["page"])
    rectifying = open_work_items_for(rows)
    actions = [Action("街镇进度", screens.url("progress"))]
    if user.has_role(*MANAGING_ROLES):
        actions.append(Action("新增楼宇", screens.form_url("register"), "primary"))
    return ListPage(
        title="外墙高坠隐患排查", active_tab=view, page=args["page"], pages=pages, total=total, search=q,
        tabs=[Tab(k, label, screens.url("buildings", view=k)) for k, label in VIEWS.items()], actions=actions,
        rows=[Row(b.name, building_url(b.id), b.address,
                  [_risk_badge(b.risk_level)] + ([Badge("整改中", "warn")] if b.id in rectifying else []),
                  [("层数", f"{b.floors} 层"), ("上次排查", local_dt(b.last_inspected_at, "%m-%d") or "—")])
              for b in rows], empty="没有符合条件的楼宇")


def _inspection_row(i: FacadeInspection) -> Row:
    found = "、".join(f"{ITEMS[x.item]}{GRADES[x.grade]}" for x in i.items if x.grade != "none") or "未发现隐患"
    return Row(f"{local_dt(i.inspected_at)} 排查", None, found, [_risk_badge(i.risk_level)],
               [("排查人", i.inspector.name)] + ([("复查", "是")] if i.is_reinspection else []))


@screens.detail("buildings")
def building(user, ident) -> DetailPage:
    b = _building(user, ident)
    open_item = b.rectification
    inspections = db.session.execute(select(FacadeInspection).where(FacadeInspection.building_id == b.id).order_by(
        FacadeInspection.inspected_at.desc()).limit(10)).scalars().all()
    actions = [Action("复查" if open_item else "排查", screens.form_url("inspect", id=b.id), "primary")]
    if b.place_code:
        actions.append(Action("静安码", f"/h5/staff/places/{b.place_code}"))
    rectification = None
    if open_item is not None:
        rectification = DetailSection("整改工单", rows=[Row(
            open_item.number, f"/h5/staff/items/{open_item.id}", "高风险整改，复查合格后自动办结",
            [Badge("整改中", "warn")], [("办结时限", local_dt(open_item.close_due_at))])])
    return DetailPage(
        title=b.name, subtitle=b.address, back_url=screens.url("buildings"), actions=actions,
        badges=[_risk_badge(b.risk_level)] + ([Badge("整改中", "warn")] if open_item else []),
        sections=[s for s in (
            rectification,
            DetailSection("楼宇信息", items=[
                ("所属单位", b.org_unit.name), ("层数", f"{b.floors} 层"), ("结构", STRUCTURES.get(b.structure, "")),
                ("建成年份", str(b.built_year or "")), ("管理单位", b.managing_party),
                ("联系人", b.managing_contact), ("静安码", b.place_code)]),
            DetailSection("排查记录", rows=[_inspection_row(i) for i in inspections],
                          note="" if inspections else "尚未排查",
                          photos=list(inspections[0].photo_ids) if inspections else []),
        ) if s is not None])


@screens.form("inspect")
def inspect_form(user, args) -> FormScreen:
    try:
        b = _building(user, int(args.get("id", "")))
    except ValueError:
        raise ApiError(404, "building_not_found", "楼宇不存在", "No such building") from None

    def save(values: dict) -> str:
        lines = [{"item": line["item"], "grade": line["result"], "note": line["note"], "photo_ids": line["photo_ids"]}
                 for line in values["items"]]
        inspection = services.inspect(b, lines, user, remarks=values["remarks"] or "", photo_ids=values["photos"])
        outcome = {"raised": "高风险，已派发整改工单", "closed": "复查合格，整改工单已办结",
                   "still_high": "仍为高风险，整改工单继续办理"}.get(inspection.work_item_outcome or "", "")
        flash(f"排查已提交：{GRADES[inspection.risk_level]}。{outcome}".rstrip("。"), "ok")
        return building_url(b.id)

    return FormScreen(
        form=FormDesc(f"{'复查' if b.rectification else '排查'}：{b.name}", (
            Section("逐项评级", (Field("items", "排查项", "checklist", required=True, options=tuple(GRADES.items()),
                                       lines=tuple(ITEMS.items()), note_required_for=("medium", "high"),
                                       help="中、高风险项须描述隐患；有高风险项将派发整改工单至区房管局。"),)),
            Section("现场", (Field("remarks", "排查备注", "textarea", max_length=2000),
                              Field("photos", "现场照片", "photos", max_photos=9))),
        ), submit_label="提交排查"),
        save=save, back_url=building_url(b.id))


@screens.form("register")
def register_form(user, args) -> FormScreen:
    if not user.has_role(*MANAGING_ROLES):
        raise ApiError(403, "role_required", "只有派单员和负责人可以新增楼宇", "Operators and managers add buildings")
    units = unit_choices(user, MANAGING_ROLES, (OrgLevel.STREET, OrgLevel.GRID, OrgLevel.COMMITTEE))

    def save(values: dict) -> str:
        location = values.pop("location") or {}
        data = load_with(BuildingIn(), {**values, "lat": location.get("lat"), "lng": location.get("lng")})
        unit = unit_in_scope(user, data.pop("org_unit"), MANAGING_ROLES)
        b = services.register_building(data, unit, user)
        flash(f"已新增楼宇「{b.name}」，静安码 {b.place_code}", "ok")
        return building_url(b.id)

    return FormScreen(form=form(
        "新增楼宇",
        Field("name", "楼宇名称", required=True, max_length=100),
        Field("address", "地址", required=True, max_length=200),
        Field("org_unit", "所属单位", "choice", required=True, options=units),
        Field("location", "位置", "location"),
        Field("floors", "层数", "int", required=True, min=1, max=200),
        Field("built_year", "建成年份", "int", min=1840, max=2100),
        Field("structure", "结构类型", "choice", required=True, options=tuple(STRUCTURES.items())),
        Field("managing_party", "管理单位", required=True, max_length=100),
        Field("managing_contact", "联系人", max_length=50),
        Field("managing_phone", "联系电话", "phone"),
        submit_label="保存"), save=save, back_url=screens.url("buildings"))


@screens.page("progress", "街镇排查进度")
def progress(user, args) -> DetailPage:
    streets = services.progress_by_street(user)
    total = sum(s["total"] for s in streets)
    inspected = sum(s["inspected"] for s in streets)
    high = sum(s["by_risk"]["high"] for s in streets)
    return DetailPage(
        title="街镇排查进度", back_url=screens.url("buildings"),
        subtitle=f"已排查 {inspected} / {total} 幢，高风险 {high} 幢",
        sections=[DetailSection("各街镇", bars=[
            (s["street"]["name"].removesuffix("街道"), s["percent"],
             f"{s['inspected']}/{s['total']} 高{s['by_risk']['high']}") for s in streets],
            note="" if streets else "您的范围内还没有登记楼宇")])
