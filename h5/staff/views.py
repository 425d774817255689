"""Home, one-click query and Jing'an codes."""

from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import func, select

from app.extensions import db
from app.models.org import OrgUnit
from app.models.place import Place
from app.registry import current_registry
from app.services.places import get_place
from app.services.scope import in_scope, scope_clause
from app.services.search import MAX_QUERY_CHARS, SEARCH_ROLES, SearchFilters, search
from app.services.toolbox import tools_for
from app.web.screens import Badge, DetailPage, DetailSection, ListPage, Row, Tab
from app.web.session import page_error
from app.web.toolscreens import screens_for
from h5.staff import bp
from h5.staff.items import badges

ICON_GLYPHS = {"construction": "工", "building": "楼", "flood": "汛", "camera": "拍"}
PER_PAGE = 20


@bp.get("/")
def home():
    """My toolbox and my inbox at a glance."""
    user = g.user
    tiles = []
    for tool in tools_for(user):
        screens = screens_for(tool)
        if screens is not None:
            tiles.append({"name": tool.manifest.name, "url": screens.url(""),
                          "glyph": ICON_GLYPHS.get(tool.manifest.icon, tool.manifest.name[:1])})
    return render_template("staff/home.html", title="工作台", tiles=tiles, badges=badges(user),
                           units=[m.org_unit for m in user.memberships],
                           can_search=user.has_role(*SEARCH_ROLES))


# --- one-click query -------------------------------------------------------------------------------

def record_url(tool_code: str, type_: str, ident: str) -> str | None:
    """Where a search result opens in the workbench."""
    if tool_code == "work_items":
        return f"/h5/staff/items/{ident}"
    tool = current_registry().get(tool_code)
    screens = screens_for(tool) if tool is not None else None
    return screens.record_url(type_, ident) if screens is not None else None


@bp.get("/query")
def query():
    """一键查询: every tool's records in my scope, with facets and highlights."""
    user = g.user
    if not user.has_role(*SEARCH_ROLES):
        return page_error(403, "您的角色不能使用一键查询")
    q = (request.args.get("q") or "").strip()[:MAX_QUERY_CHARS]
    tool, status = request.args.get("tool") or None, request.args.get("status") or None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    result = None
    if q:
        result = search(user, q, SearchFilters(tool=tool, status=status), page=min(page, 500), per_page=PER_PAGE)
        for item in result["items"]:
            item["url"] = record_url(item["tool"], item["type"], item["id"])
    return render_template("staff/query.html", title="一键查询", q=q, tool=tool, status=status, result=result,
                           back_url="/h5/staff/")


# --- Jing'an codes ---------------------------------------------------------------------------------

@bp.get("/places")
def places():
    """Jing'an codes in my scope, by kind."""
    user = g.user
    kinds = {code: kind.name for code, kind in current_registry().place_kinds.items()}
    kind = request.args.get("kind") if request.args.get("kind") in kinds else None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    stmt = select(Place).where(scope_clause(Place.org_path, user), Place.active.is_(True))
    counts = dict(db.session.execute(select(Place.kind, func.count()).where(
        scope_clause(Place.org_path, user), Place.active.is_(True)).group_by(Place.kind)).all())
    if kind:
        stmt = stmt.where(Place.kind == kind)
    total = sum(counts.values()) if kind is None else counts.get(kind, 0)
    rows = db.session.execute(stmt.order_by(Place.org_path, Place.id).limit(PER_PAGE)
                              .offset((page - 1) * PER_PAGE)).scalars().all()
    listing = ListPage(
        title="静安码", active_tab=kind or "all", page=page, pages=max(1, -(-total // PER_PAGE)), total=total,
        tabs=[Tab("all", "全部", "/h5/staff/places", sum(counts.values()))] + [
            Tab(k, name, f"/h5/staff/places?kind={k}", counts[k]) for k, name in kinds.items() if counts.get(k)],
        rows=[Row(p.name, f"/h5/staff/places/{p.code}", p.address or "", [Badge(p.kind_name, "info")],
                  [("静安码", p.code), ("单位", p.org_unit.name)]) for p in rows],
        empty="您的范围内还没有静安码")
    return render_template("web/list.html", list=listing, back_url="/h5/staff/")


@bp.get("/places/<code>")
def place(code: str):
    """A Jing'an code: its place, the record it stands for, its QR code and posters (a scan lands here)."""
    found = get_place(code)
    if found is None or not in_scope(g.user, found.org_path):
        return page_error(404, "没有找到这个静安码，或它不在您的数据范围内")
    record = record_url(found.ref_tool, found.ref_type, found.ref_id) if found.ref_tool and found.ref_id else None
    detail = DetailPage(
        title=found.name, subtitle=found.address or "", back_url="/h5/staff/places",
        badges=[Badge(found.kind_name, "info"), Badge("已停用", "danger")] if not found.active
        else [Badge(found.kind_name, "info")],
        sections=[DetailSection("静安码", items=[("编码", found.code), ("所属单位", found.org_unit.name),
                                               ("市民上报页", f"/h5/c/{found.code}")])])
    return render_template("staff/place.html", detail=detail, place=found, record_url=record)


@bp.app_template_global()
def unit_label(unit: OrgUnit | None) -> str:
    return unit.name if unit is not None else ""
