"""系统管理员: the tool catalogue and its enablement, org units, places and posters, calendar, limits."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from app.console import page
from app.console.helpers import arg, ask_to_confirm, confirmed, paged, streets, unit_by_code
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.place import Place, PlacePosterBatch
from app.models.users import Role
from app.models.workitem import CalendarDay, WorkItemLimit
from app.registry import current_registry
from app.services import audit, media, places, posters, workdays
from app.services import workflow as wf
from app.services.like import contains, starts_with
from app.services.scope import admin_scope_clause, ensure_in_admin_scope, in_admin_scope
from app.services.toolbox import preview_enable, set_enabled, settings_for

ADMIN = Role.ADMIN
LEVEL_NAMES = {"district": "区", "department": "区职能部门", "street": "街镇", "grid": "网格", "committee": "居村"}


def _admin_unit(code: str) -> OrgUnit | None:
    """A unit the system admin administers (None: no such unit; 403 outside their scope)."""
    unit = unit_by_code(code)
    if unit is not None:
        ensure_in_admin_scope(g.user, unit.path, ADMIN)
    return unit


# --- tools --------------------------------------------------------------------------------------

@page("/tools", ADMIN, title="工具目录")
def tools():
    """Every registered tool (code and no-code), its version and where it is switched on or off."""
    rows = [(tool, settings_for(tool.code)) for tool in current_registry()]
    return render_template("console/tools.html", title="工具目录", rows=rows)


@page("/tools/<code>", ADMIN, methods=("GET", "POST"))
def tool(code: str):
    """One tool: its settings per unit, and the form that enables or disables it (preview first)."""
    found = current_registry().get(code)
    if found is None:
        abort(404)
    errors, values = {}, {"unit": "", "enabled": "1"}
    if request.method == "POST":
        values = {"unit": request.form.get("unit", "").strip(), "enabled": request.form.get("enabled", "1")}
        unit = _admin_unit(values["unit"])
        if unit is None:
            errors["unit"] = "请输入有效的单位代码，例如 JA01（街镇）或 JA01G01（网格）"
        else:
            enabled = values["enabled"] == "1"
            if not confirmed():
                return _enable_preview(found, unit, enabled)
            set_enabled(code, unit, enabled, g.user)
            db.session.commit()
            flash(f"已为 {unit.name} 及其下级{'启用' if enabled else '停用'}「{found.manifest.name}」")
            return redirect(url_for("console.tool", code=code))
    return render_template("console/tool.html", title=found.manifest.name, tool=found,
                           settings=settings_for(code), errors=errors, values=values, units=streets())


def _enable_preview(found, unit: OrgUnit, enabled: bool):
    change = preview_enable(found.code, unit, enabled)
    verb = "启用" if enabled else "停用"
    return ask_to_confirm(
        f"确认{verb}「{found.manifest.name}」",
        f"将为 {unit.name}（{unit.code}）及其下级单位{verb}「{found.manifest.name}」。",
        danger=not enabled, back_url=url_for("console.tool", code=found.code),
        preview=change, details=[f"获得该工具的人员：{len(change['gains'])} 人",
                                 f"失去该工具的人员：{len(change['losses'])} 人"])


# --- org units ----------------------------------------------------------------------------------

@page("/units", ADMIN, title="组织机构")
def units():
    """The 1+14+85+266 tree, one level at a time (?parent=), or a search across it (?q=)."""
    parent = _admin_unit(arg("parent")) if arg("parent") else None
    q = arg("q")
    stmt = select(OrgUnit).where(admin_scope_clause(OrgUnit.path, g.user, ADMIN))
    if q:
        stmt = stmt.where(or_(contains(OrgUnit.name, q), contains(OrgUnit.code, q)))
    elif parent is not None:
        stmt = stmt.where(OrgUnit.parent_id == parent.id)
    else:
        stmt = stmt.where(OrgUnit.parent_id.is_(None))
    result = paged(stmt.order_by(OrgUnit.sort_order, OrgUnit.code))
    crumbs = []
    unit = parent
    while unit is not None:
        crumbs.insert(0, unit)
        unit = unit.parent
    return render_template("console/units.html", title="组织机构", page=result, parent=parent, crumbs=crumbs,
                           q=q, levels=LEVEL_NAMES)


@page("/units/<code>", ADMIN, methods=("GET", "POST"))
def unit_edit(code: str):
    """Rename a unit or change its WeCom department mapping; audited."""
    unit = _admin_unit(code)
    if unit is None:
        abort(404)
    errors = {}
    values = {"name": unit.name, "wecom_department_id": unit.wecom_department_id or ""}
    if request.method == "POST":
        values = {"name": request.form.get("name", "").strip(),
                  "wecom_department_id": request.form.get("wecom_department_id", "").strip()}
        errors = _check_unit(unit, values)
        if not errors:
            dept = int(values["wecom_department_id"]) if values["wecom_department_id"] else None
            before = {"name": unit.name, "wecom_department_id": unit.wecom_department_id}
            unit.name, unit.wecom_department_id = values["name"], dept
            audit.record("org_unit.update", target_type="org_unit", target_id=unit.code,
                         detail={"before": before, "after": {"name": unit.name, "wecom_department_id": dept}})
            db.session.commit()
            flash(f"已保存 {unit.name}")
            return redirect(url_for("console.units", parent=unit.parent.code if unit.parent else None))
    return render_template("console/unit_edit.html", title=f"编辑单位 {unit.code}", unit=unit, values=values,
                           errors=errors, levels=LEVEL_NAMES)


def _check_unit(unit: OrgUnit, values: dict) -> dict:
    errors = {}
    if not values["name"]:
        errors["name"] = "请填写单位名称"
    elif len(values["name"]) > 100:
        errors["name"] = "单位名称不超过 100 个字"
    dept = values["wecom_department_id"]
    if dept:
        if not dept.isdigit():
            errors["wecom_department_id"] = "企业微信部门 ID 须为正整数"
        else:
            other = db.session.execute(select(OrgUnit).where(OrgUnit.wecom_department_id == int(dept),
                                                             OrgUnit.id != unit.id)).scalar_one_or_none()
            if other is not None:
                errors["wecom_department_id"] = f"该部门已对应到 {other.name}（{other.code}）"
    return errors


# --- places and posters -------------------------------------------------------------------------

@page("/places", ADMIN, title="静安码与地点")
def places_list():
    """Places filtered by street, kind, text and state (filters stay in the URL)."""
    stmt = select(Place).where(admin_scope_clause(Place.org_path, g.user, ADMIN))
    street = unit_by_code(arg("street"))
    if street is not None:
        stmt = stmt.where(starts_with(Place.org_path, street.path))
    if arg("kind"):
        stmt = stmt.where(Place.kind == arg("kind"))
    if arg("q"):
        stmt = stmt.where(or_(contains(Place.name, arg("q")),
                              contains(Place.address, arg("q")), Place.code == arg("q").upper()))
    if arg("active") in ("1", "0"):
        stmt = stmt.where(Place.active.is_(arg("active") == "1"))
    result = paged(stmt.order_by(Place.org_path, Place.name, Place.id))
    batches = db.session.execute(select(PlacePosterBatch).order_by(PlacePosterBatch.id.desc()).limit(5)).scalars()
    return render_template("console/places.html", title="静安码与地点", page=result, streets=streets(),
                           kinds=current_registry().place_kinds, batches=list(batches), formats=posters.FORMATS)


@page("/places/new", ADMIN, methods=("GET", "POST"))
def place_new():
    """Create a place with a new Jing'an code; audited like the API's."""
    kinds = current_registry().place_kinds
    values = {k: request.form.get(k, "").strip() for k in ("name", "kind", "org_unit", "address")}
    errors = {}
    if request.method == "POST":
        unit = _admin_unit(values["org_unit"])
        if not values["name"]:
            errors["name"] = "请填写地点名称"
        if values["kind"] not in kinds:
            errors["kind"] = "请选择地点类型"
        if unit is None:
            errors["org_unit"] = "请输入有效的单位代码，例如 JA01G01"
        if not errors:
            place = places.create_place(name=values["name"], kind=values["kind"], org_unit=unit,
                                        address=values["address"] or None, created_by=g.user)
            audit.record("place.create", target_type="place", target_id=place.code,
                         detail={"name": place.name, "org_unit": unit.code})
            db.session.commit()
            flash(f"已创建地点 {place.name}，静安码 {place.code}")
            return redirect(url_for("console.places_list", q=place.code))
    return render_template("console/place_new.html", title="新建地点", values=values, errors=errors, kinds=kinds)


@page("/places/<code>/retire", ADMIN, methods=("POST",))
def place_retire(code: str):
    """Retire a Jing'an code (citizens then see 'not in use'); asks first; audited like the API's."""
    place = places.get_place(code)
    if place is None or not in_admin_scope(g.user, place.org_path, ADMIN):
        abort(404)
    if not confirmed():
        return ask_to_confirm("确认停用静安码", f"停用后扫码将显示“该码已停用”：{place.name}（{place.code}）",
                              back_url=url_for("console.places_list"))
    place.active = False
    audit.record("place.update", target_type="place", target_id=place.code, detail={"fields": ["active"]})
    db.session.commit()
    flash(f"已停用 {place.name}（{place.code}）")
    return redirect(url_for("console.places_list", q=place.code))


@page("/places/batches", ADMIN, methods=("POST",))
def batch_new():
    """Queue the posters of a street as one ZIP (an RQ job with progress)."""
    unit = _admin_unit(request.form.get("street", ""))
    fmt = request.form.get("format", "pdf")
    if unit is None or fmt not in posters.FORMATS:
        flash("请选择街镇和格式", "error")
        return redirect(url_for("console.places_list"))
    batch = posters.request_batch(unit, fmt, g.user)
    db.session.commit()
    return redirect(url_for("console.batch", batch_id=batch.id))


def _batch(batch_id: int) -> PlacePosterBatch:
    batch = db.session.get(PlacePosterBatch, batch_id)
    if batch is None or not in_admin_scope(g.user, batch.org_unit.path, ADMIN):
        abort(404)
    return batch


@page("/places/batches/<int:batch_id>", ADMIN)
def batch(batch_id: int):
    """The ZIP's progress (the page refreshes itself until the job is done), then its download."""
    return render_template("console/batch.html", title="海报打包", batch=_batch(batch_id))


@page("/places/batches/<int:batch_id>/download", ADMIN)
def batch_download(batch_id: int):
    """The finished ZIP."""
    found = _batch(batch_id)
    if found.status != "finished" or not media.exists(found.file_key):
        raise ApiError(409, "poster_batch_not_ready", "海报尚在生成中", "The ZIP is not ready yet")
    return Response(media.read(found.file_key), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="jingan-posters-{found.org_unit.code}-{found.id}.zip"'})


# --- calendar and limits ------------------------------------------------------------------------

@page("/calendar", ADMIN, title="工作日历")
def calendar():
    """The exceptions to Monday–Friday of a year: holidays and adjusted working days (调休)."""
    year = request.args.get("year", date.today().year, type=int)
    rows = db.session.execute(select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                        CalendarDay.day <= date(year, 12, 31))
                              .order_by(CalendarDay.day)).scalars().all()
    return render_template("console/calendar.html", title="工作日历", year=year, rows=rows, errors={}, values={})


@page("/calendar/official", ADMIN, methods=("POST",))
def calendar_official():
    """Load the shipped State Council holiday calendar; audited like the API's."""
    n = workdays.load_official(changed_by=g.user.wecom_userid)
    audit.record("calendar.load_official", detail={"days": n})
    db.session.commit()
    flash(f"已载入国务院公布的节假日安排，共 {n} 天")
    return redirect(url_for("console.calendar"))


@page("/calendar/day", ADMIN, methods=("POST",))
def calendar_day():
    """Mark a local adjustment: a day off or a working day."""
    values = {k: request.form.get(k, "").strip() for k in ("day", "kind", "name")}
    errors = {}
    try:
        day = date.fromisoformat(values["day"])
    except ValueError:
        errors["day"] = "请选择日期（YYYY-MM-DD）"
    if values["kind"] not in ("holiday", "workday"):
        errors["kind"] = "请选择“休息日”或“工作日”"
    if len(values["name"]) > 64:
        errors["name"] = "说明不超过 64 个字"
    if errors:
        year = date.today().year
        rows = db.session.execute(select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1))
                                  .order_by(CalendarDay.day)).scalars().all()
        return render_template("console/calendar.html", title="工作日历", year=year, rows=rows, errors=errors,
                               values=values), 422
    workdays.set_day(day, values["kind"], values["name"], changed_by=g.user.wecom_userid)
    audit.record("calendar.set", target_type="calendar_day", target_id=day.isoformat(),
                 detail={"kind": values["kind"], "name": values["name"]})
    db.session.commit()
    flash(f"已设置 {day.isoformat()}")
    return redirect(url_for("console.calendar", year=day.year))


@page("/calendar/<day>/clear", ADMIN, methods=("POST",))
def calendar_clear(day: str):
    """Remove an exception (the day follows Monday–Friday again); asks first."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if not confirmed():
        return ask_to_confirm("确认删除日历设置", f"删除后 {day} 将按周一至周五的常规作息计算。",
                              back_url=url_for("console.calendar", year=when.year))
    if workdays.clear_day(when):
        audit.record("calendar.clear", target_type="calendar_day", target_id=day)
        db.session.commit()
        flash(f"已删除 {day} 的设置")
    return redirect(url_for("console.calendar", year=when.year))


LIMIT_FIELDS = {"sign_days": "签收时限", "close_days": "办结时限", "rehandle_days": "再处置时限",
                "max_days": "最长时限"}


@page("/limits", ADMIN, title="工单时限", methods=("GET", "POST"))
def limits():
    """Per-tool (or per-category) time limits in working days; audited like the API's."""
    errors, values = {}, {}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("tool", "category", *LIMIT_FIELDS)}
        errors = _check_limit(values)
        if not errors:
            _save_limit(values)
            flash("已保存工单时限")
            return redirect(url_for("console.limits"))
    rows = db.session.execute(select(WorkItemLimit).order_by(WorkItemLimit.tool_code, WorkItemLimit.category))
    return render_template("console/limits.html", title="工单时限", rows=rows.scalars().all(),
                           defaults=wf.Limits().to_dict(), tools=list(current_registry()), fields=LIMIT_FIELDS,
                           errors=errors, values=values), 422 if errors else 200


def _check_limit(values: dict) -> dict:
    errors = {}
    registry = current_registry()
    if registry.get(values["tool"]) is None:
        errors["tool"] = "请选择工具"
    elif values["category"] and registry.category(values["tool"], values["category"]) is None:
        errors["category"] = "该工具没有这个工单类别"
    for key, label in LIMIT_FIELDS.items():
        top = 60 if key == "max_days" else 15  # as the API's LimitIn: a stage 15 days, with extensions 60
        if values[key] and (not values[key].isdigit() or not 1 <= int(values[key]) <= top):
            errors[key] = f"{label}须为 1 至 {top} 之间的工作日数"
    return errors


def _save_limit(values: dict) -> None:
    row = db.session.execute(select(WorkItemLimit).where(
        WorkItemLimit.tool_code == values["tool"], WorkItemLimit.category == values["category"])).scalar_one_or_none()
    if row is None:
        row = WorkItemLimit(tool_code=values["tool"], category=values["category"])
        db.session.add(row)
    data = {"tool": values["tool"], "category": values["category"]}
    for key in LIMIT_FIELDS:
        value = int(values[key]) if values[key] else None
        setattr(row, key, value)
        data[key] = value
    row.changed_by = g.user.wecom_userid
    audit.record("work_item.limits", target_type="tool", target_id=values["tool"], detail=data)
    db.session.commit()
