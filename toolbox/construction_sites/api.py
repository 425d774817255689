"""HTTP API of small construction sites, mounted at /api/v1/tools/construction_sites/."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from app.api import PageArgs, paginate, parse_args, parse_json
from app.auth import current_user
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgLevel, OrgUnit
from app.services.scope import ensure_in_scope, scope_clause
from app.services.toolbox import require_tool_access
from miniprogram_api.openapi import doc
from toolbox.construction_sites import services
from toolbox.construction_sites.models import CHECKLIST, Inspection, Site
from toolbox.construction_sites.schemas import (
    SiteChecklistLineOut,
    SiteCloseIn,
    SiteContactsOut,
    SiteDetailOut,
    SiteIn,
    SiteInspectionIn,
    SiteInspectionOut,
    SiteInspectionPage,
    SiteOut,
    SitePage,
    SiteQuery,
    SiteUpdate,
)

bp = Blueprint("construction_sites", __name__)
TAGS = ("construction_sites",)
MANAGING_ROLES = ("operator", "manager")  # register, edit and close sites

_site_out = SiteOut()
_inspection_out = SiteInspectionOut()


@bp.before_request
def _tool_access():
    require_tool_access(current_user(), services.CODE)


def _site(site_id: int, *roles: str) -> Site:
    site = db.session.get(Site, site_id)
    if site is None:
        raise ApiError(404, "site_not_found", "工地不存在", "No such construction site")
    ensure_in_scope(current_user(), site.org_path, *roles)
    return site


def _unit(code: str) -> OrgUnit:
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise ApiError(422, fields={"org_unit": ["所属单位不存在"]})
    if unit.level not in (OrgLevel.STREET, OrgLevel.GRID, OrgLevel.COMMITTEE):
        raise ApiError(422, fields={"org_unit": ["工地须登记在街镇、网格或居村"]})
    ensure_in_scope(current_user(), unit.path, *MANAGING_ROLES)
    return unit


@bp.get("/checklist")
@doc("The inspection checklist (item codes and names)", tags=TAGS)
def checklist():
    """What every inspection must answer, in order."""
    return jsonify({"items": [{"item": k, "name": v} for k, v in CHECKLIST.items()]})


@bp.get("/sites")
@doc("List sites in my scope; view=ending_soon|overdue_inspection|open_problems", tags=TAGS,
     query=SiteQuery, response=SitePage)
def list_sites():
    """Sites I may see, optionally one of the working lists."""
    args = parse_args(SiteQuery())
    stmt = services.sites_query(args.get("view"), args.get("days"), args.get("status"), args.get("q"))
    stmt = stmt.where(scope_clause(Site.org_path, current_user()))
    return jsonify(paginate(stmt, args["page"], args["per_page"], _site_out.dump))


@bp.post("/sites")
@doc("Register a site (operators and managers of its unit); it gets a Jing'an code", tags=TAGS,
     body=SiteIn, response=SiteOut, status=201)
def create_site():
    """Register a small construction site."""
    data = parse_json(SiteIn())
    unit = _unit(data.pop("org_unit"))
    site = services.register_site(data, unit, current_user())
    db.session.commit()
    return jsonify(_site_out.dump(site)), 201


@bp.get("/sites/<int:site_id>")
@doc("One site with its open problems", tags=TAGS, response=SiteDetailOut, errors=(404,))
def get_site(site_id: int):
    """A site and what is still wrong there."""
    site = _site(site_id)
    out = _site_out.dump(site)
    out["open_problems"] = SiteChecklistLineOut(many=True).dump(services.open_problems(site))
    out["checklist"] = CHECKLIST
    return jsonify(out)


@bp.patch("/sites/<int:site_id>")
@doc("Change a site's details (operators and managers)", tags=TAGS, body=SiteUpdate, response=SiteOut,
     errors=(404, 409))
def update_site(site_id: int):
    """Edit a site; only the fields sent change."""
    site = _site(site_id, *MANAGING_ROLES)
    data = parse_json(SiteUpdate(), partial=True)
    services.update_site(site, data, current_user())
    db.session.commit()
    return jsonify(_site_out.dump(site))


@bp.post("/sites/<int:site_id>/close")
@doc("Close a site (finished or abandoned)", tags=TAGS, body=SiteCloseIn, response=SiteOut, errors=(404, 409))
def close_site(site_id: int):
    """Close a site; it leaves the working lists."""
    site = _site(site_id, *MANAGING_ROLES)
    data = parse_json(SiteCloseIn())
    services.close_site(site, data["reason"], current_user())
    db.session.commit()
    return jsonify(_site_out.dump(site))


@bp.get("/sites/<int:site_id>/contacts")
@doc("Unmasked owner and contractor phone numbers (audited)", tags=TAGS, response=SiteContactsOut, errors=(404,))
def site_contacts(site_id: int):
    """Phone numbers in full, for calling the site; every view is audited."""
    site = _site(site_id)
    contacts = services.view_contacts(site, current_user())
    db.session.commit()
    return jsonify(contacts)


@bp.get("/sites/<int:site_id>/inspections")
@doc("A site's inspections, newest first", tags=TAGS, query=PageArgs, response=SiteInspectionPage, errors=(404,))
def list_inspections(site_id: int):
    """Inspection history of one site."""
    site = _site(site_id)
    args = parse_args(PageArgs())
    stmt = select(Inspection).where(Inspection.site_id == site.id).order_by(
        Inspection.inspected_at.desc(), Inspection.id.desc())
    return jsonify(paginate(stmt, args["page"], args["per_page"], _inspection_out.dump))


@bp.post("/sites/<int:site_id>/inspections")
@doc("Record an inspection: every checklist item, photos; failed items become work items", tags=TAGS,
     body=SiteInspectionIn, response=SiteInspectionOut, status=201, errors=(404, 409))
def create_inspection(site_id: int):
    """Inspect a site."""
    site = _site(site_id)
    data = parse_json(SiteInspectionIn())
    inspection = services.inspect(site, data["items"], current_user(), remarks=data["remarks"],
                                  photo_ids=data["photo_ids"])
    db.session.commit()
    return jsonify(_inspection_out.dump(inspection)), 201


@bp.get("/inspections/<int:inspection_id>")
@doc("One inspection", tags=TAGS, response=SiteInspectionOut, errors=(404,))
def get_inspection(inspection_id: int):
    """An inspection with its checklist lines and their work items."""
    inspection = db.session.get(Inspection, inspection_id)
    if inspection is None:
        raise ApiError(404, "inspection_not_found", "检查记录不存在", "No such inspection")
    ensure_in_scope(current_user(), inspection.site.org_path)
    return jsonify(_inspection_out.dump(inspection))

