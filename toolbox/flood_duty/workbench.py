"""防汛防台 in the staff workbench: the level in force, my duty and 签到, the operators' overview,
waterlogging points and their depth reports."""

from __future__ import annotations

from flask import flash
from sqlalchemy import select

from app.toolkit import (
    STATES,
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
    ToolScreens,
    db,
    ensure_in_scope,
    form,
    local_dt,
    open_work_item_for,
    page_rows,
    scope_clause,
    text_matches,
    unit_choices,
    unit_in_scope,
)
from toolbox.flood_duty import jobs, services
from toolbox.flood_duty.api import COMMAND_ROLES
from toolbox.flood_duty.models import (
    CODE,
    DUTIES,
    HAZARDS,
    LEVELS,
    RESOURCE_KINDS,
    DutyCall,
    FloodWarning,
    WaterPoint,
    WaterReport,
)

screens = ToolScreens(CODE, home="home")
LEVEL_TONES = {"none": "ok", "blue": "info", "yellow": "warn", "orange": "warn", "red": "danger"}


def _level_badge(w: FloodWarning) -> Badge:
    return Badge(f"{HAZARDS[w.hazard]}{LEVELS[w.level]}预警", LEVEL_TONES[w.level])


def _warning(user, ident) -> FloodWarning:
    """A warning of a unit above me or inside my scope (the API's rule)."""
    w = db.session.get(FloodWarning, ident)
    if w is None:
        raise ApiError(404, "warning_not_found", "预警不存在", "Not found")
    if not services.may_see_warning(user, w):
        raise ApiError(403, "out_of_scope", "该记录不在您的数据范围内", "This record is outside your data scope")
    return w


def _ident(args) -> int:
    try:
        return int(args.get("id", ""))
    except ValueError:
        raise ApiError(404, "not_found", "记录不存在", "No such record") from None


@screens.record("warning")
def warning_url(ident) -> str:
    return screens.url("warnings", ident)


@screens.record("point")
def point_url(ident) -> str:
    return screens.url("points", ident)


@screens.page("home", "防汛防台")
def home(user, args) -> DetailPage:
    active = db.session.execute(services.visible_warnings(user).where(FloodWarning.active.is_(True))
                                .order_by(FloodWarning.org_path)).scalars().all()
    calls = db.session.execute(select(DutyCall).join(FloodWarning, FloodWarning.id == DutyCall.warning_id).where(
        DutyCall.user_id == user.id, FloodWarning.active.is_(True)).order_by(FloodWarning.set_at.desc())
    ).unique().scalars().all()
    commander = user.has_role(*COMMAND_ROLES)
    duty_rows = [Row(
        f"{c.warning.org_unit.name} {HAZARDS[c.warning.hazard]}{LEVELS[c.warning.level]}预警",
        None if c.confirmed_at else screens.form_url("confirm", id=c.warning_id), DUTIES.get(c.duty, c.duty),
        [Badge(f"已签到 {local_dt(c.confirmed_at, '%H:%M')}", "ok") if c.confirmed_at else Badge("待签到", "danger")],
        [("发布", local_dt(c.warning.set_at))]) for c in calls]
    actions = [Action("签到", screens.form_url("confirm", id=c.warning_id), "primary") for c in calls
               if c.confirmed_at is None][:1]
    actions.append(Action("积水点", screens.url("points")))
    if commander:
        actions.append(Action("发布/调整预警", screens.form_url("level")))
    return DetailPage(
        title="防汛防台", actions=actions, back_url="/h5/staff/",
        badges=[_level_badge(w) for w in active] or [Badge("当前无预警", "ok")],
        sections=[
            DetailSection("当前预警", rows=[Row(
                f"{w.org_unit.name}{HAZARDS[w.hazard]}{LEVELS[w.level]}预警", warning_url(w.id), w.message,
                [_level_badge(w)], [("发布", local_dt(w.set_at)), ("通知", f"{w.calls_count} 人")]) for w in active],
                note="" if active else "当前没有生效的预警"),
            DetailSection("我的值班", rows=duty_rows, note="" if calls else "当前预警未点名您值班"),
        ])


@screens.detail("warnings")
def warning(user, ident) -> DetailPage:
    w = _warning(user, ident)
    rows = db.session.execute(services.unit_overview_rows(w, user).limit(100)).all()
    called = sum(r[1] for r in rows)
    confirmed = sum(int(r[2] or 0) for r in rows)
    unconfirmed = db.session.execute(select(DutyCall).where(
        DutyCall.warning_id == w.id, DutyCall.confirmed_at.is_(None), scope_clause(DutyCall.org_path, user))
        .order_by(DutyCall.org_path, DutyCall.id).limit(50)).unique().scalars().all()
    return DetailPage(
        title=f"{w.org_unit.name}{HAZARDS[w.hazard]}预警", back_url=screens.url("home"),
        subtitle=f"{local_dt(w.set_at)} 发布 · {w.message}".rstrip(" ·"),
        badges=[_level_badge(w)] + ([] if w.active else [Badge("已结束")]),
        sections=[
            DetailSection("到岗签到", items=[("应到", f"{called} 人"), ("已签到", f"{confirmed} 人"),
                                            ("未签到", f"{called - confirmed} 人")],
                          bars=[(unit.name.removesuffix("街道"), round(100 * int(ok or 0) / n, 1) if n else 0.0,
                                 f"{int(ok or 0)}/{n}") for unit, n, ok in rows],
                          note="" if rows else "本次预警未点名值班人员"),
            DetailSection("未签到人员", rows=[Row(c.user.name, None, c.org_unit.name,
                                                 [Badge(DUTIES.get(c.duty, c.duty))]) for c in unconfirmed]),
        ])


@screens.form("confirm")
def confirm_form(user, args) -> FormScreen:
    w = _warning(user, _ident(args))

    def save(values: dict) -> str:
        where = values["location"] or {}
        call = services.confirm_arrival(w, user, where.get("lat"), where.get("lng"), values["note"] or None)
        flash(f"已签到（{local_dt(call.confirmed_at, '%H:%M')}）", "ok")
        return screens.url("home")

    return FormScreen(form=form(
        f"到岗签到：{w.org_unit.name}{LEVELS[w.level]}预警",
        Field("location", "所在位置", "location", help="点击“定位”记录签到位置（企业微信内使用企业微信定位）"),
        Field("note", "备注", max_length=200, placeholder="例如：已到岗，在防汛仓库"),
        submit_label="签到"), save=save, back_url=screens.url("home"))


@screens.list("points", "积水点")
def points(user, args) -> ListPage:
    q = (args.get("q") or "").strip()[:100]
    stmt = select(WaterPoint).where(scope_clause(WaterPoint.org_path, user))
    if q:
        stmt = stmt.where(text_matches(q, WaterPoint.name, WaterPoint.address))
    rows, pages, total = page_rows(stmt.order_by(WaterPoint.last_depth_cm.desc().nulls_last(), WaterPoint.id),
                               args["page"])
    return ListPage(
        title="积水点", page=args["page"], pages=pages, total=total, search=q,
        rows=[Row(p.name, point_url(p.id), p.address,
                  [Badge(f"积水 {p.last_depth_cm} 厘米", "danger")] if p.waterlogged else [],
                  [("警戒", f"{p.threshold_cm} 厘米"),
                   ("最近上报", local_dt(p.last_reported_at, "%m-%d %H:%M") or "—")])
              for p in rows], empty="您的范围内没有积水点")


def _point(user, ident) -> WaterPoint:
    p = db.session.get(WaterPoint, ident)
    if p is None:
        raise ApiError(404, "point_not_found", "积水点不存在", "Not found")
    ensure_in_scope(user, p.org_path)
    return p


@screens.detail("points")
def point(user, ident) -> DetailPage:
    p = _point(user, ident)
    reports = db.session.execute(select(WaterReport).where(WaterReport.point_id == p.id).order_by(
        WaterReport.reported_at.desc()).limit(10)).scalars().all()
    stock = "、".join(f"{RESOURCE_KINDS.get(r.kind, r.kind)}{r.quantity}{r.unit}" for r in p.resources)
    open_item = open_work_item_for(p)
    item = [Row(open_item.number, f"/h5/staff/items/{open_item.id}", "积水超警戒工单",
                [Badge(STATES[open_item.state], "warn")])] if open_item else []
    return DetailPage(
        title=p.name, subtitle=p.address, back_url=screens.url("points"),
        actions=[Action("上报积水", screens.form_url("report", id=p.id), "primary")]
        + ([Action("静安码", f"/h5/staff/places/{p.place_code}")] if p.place_code else []),
        badges=[Badge(f"积水 {p.last_depth_cm} 厘米", "danger")] if p.waterlogged else [Badge("正常", "ok")],
        sections=[
            DetailSection("积水工单", rows=item, note="" if item else "无未办结工单"),
            DetailSection("积水点", items=[("所属单位", p.org_unit.name), ("警戒水深", f"{p.threshold_cm} 厘米"),
                                          ("防汛物资", stock), ("静安码", p.place_code)]),
            DetailSection("上报记录", rows=[Row(
                f"{local_dt(r.reported_at)} 水深 {r.depth_cm} 厘米", None, r.note,
                [Badge("超警戒", "danger")] if r.escalated else [], [("上报人", r.reporter.name)]) for r in reports],
                photos=list(reports[0].photo_ids) if reports else [], note="" if reports else "暂无上报"),
        ])


@screens.form("report")
def report_form(user, args) -> FormScreen:
    p = _point(user, _ident(args))

    def save(values: dict) -> str:
        report = services.report_depth(p, values["depth_cm"], user, note=values["note"] or "",
                                       photo_ids=values["photos"])
        flash(f"已上报：水深 {report.depth_cm} 厘米" + ("，超过警戒值，已转为工单" if report.escalated else ""), "ok")
        return point_url(p.id)

    return FormScreen(form=form(
        f"积水上报：{p.name}",
        Field("depth_cm", "积水深度（厘米）", "int", required=True, min=0, max=300,
              help=f"达到 {p.threshold_cm} 厘米警戒值将自动转为工单，派至区防汛办"),
        Field("photos", "现场照片", "photos", max_photos=3),
        Field("note", "情况说明", "textarea", max_length=1000),
        submit_label="上报"), save=save, back_url=point_url(p.id))


@screens.form("level")
def level_form(user, args) -> FormScreen:
    if not user.has_role(*COMMAND_ROLES):
        raise ApiError(403, "role_required", "只有值班员和负责人可以发布预警", "Operators and managers set levels")
    units = unit_choices(user, COMMAND_ROLES, (OrgLevel.DISTRICT, OrgLevel.STREET))

    def save(values: dict) -> str:
        unit = unit_in_scope(user, values["org_unit"], COMMAND_ROLES)
        w = services.set_level(unit, values["level"], user, hazard=values["hazard"], message=values["message"] or "")
        warning_id = w.id
        jobs.dispatch_warning.delay(warning_id)  # queued with this transaction (the job outbox)
        flash(f"已发布：{unit.name}{HAZARDS[w.hazard]}{LEVELS[w.level]}" + ("预警" if w.level != "none" else ""), "ok")
        return warning_url(w.id) if w.level != "none" else screens.url("home")

    return FormScreen(form=form(
        "发布 / 调整预警",
        Field("org_unit", "范围", "choice", required=True, options=units),
        Field("level", "预警等级", "choice", required=True, options=tuple(LEVELS.items()), widget="radio",
              help="“无预警”即解除；提高等级将按值班表通知到岗"),
        Field("hazard", "灾种", "choice", required=True, options=tuple(HAZARDS.items()), widget="radio"),
        Field("message", "预警内容", "textarea", max_length=500),
        submit_label="发布", confirm="确认发布？提高等级将立即通过企业微信通知值班人员。"),
        save=save, back_url=screens.url("home"), initial={"hazard": "rainstorm"})

