"""HTTP API of small construction sites, mounted at /api/v1/tools/construction_sites/.

The registry checks that the caller may open the tool before every view here.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from app import toolkit as tk
from toolbox.construction_sites import services
from toolbox.construction_sites.models import CHECKLIST, Inspection, Site
from toolbox.construction_sites.schemas import (
    ChecklistLineOut,
    ChecklistOut,
    InspectionIn,
    InspectionOut,
    InspectionPage,
    SiteCloseIn,
    SiteContactsOut,
    SiteDetailOut,
    SiteIn,
    SiteOut,
    SitePage,
    SiteQuery,
    SiteUpdate,
)

bp = Blueprint("construction_sites", __name__)
TAGS = ("construction_sites",)
MANAGING_ROLES = ("operator", "manager")  # register, edit and close sites

_site_out = SiteOut()
_inspection_out = InspectionOut()


MISSING = ("site_not_found", "工地不存在", "No such construction site")


def _site(site_id: int, *roles: str) -> Site:
    return tk.load_in_scope(Site, site_id, *roles, missing=MISSING)


@bp.get("/checklist")
@tk.doc("The inspection checklist (item codes and names)", tags=TAGS, response=ChecklistOut)
def checklist():
    """What every inspection must answer, in order."""
    return jsonify({"items": [{"item": k, "name": v} for k, v in CHECKLIST.items()]})


@bp.get("/sites")
@tk.doc("List sites in my scope; view=ending_soon|overdue_inspection|open_problems", tags=TAGS,
     query=SiteQuery, response=SitePage)
def list_sites():
    """Sites I may see, optionally one of the working lists."""
    args = tk.parse_args(SiteQuery())
    stmt = services.sites_query(args.get("view"), args.get("days"), args.get("status"), args.get("q"))
    return tk.paged(stmt.where(tk.scope_clause(Site.org_path, tk.current_user())), _site_out.dump, args)


@bp.post("/sites")
@tk.doc("Register a site (operators and managers of its unit); it gets a Jing'an code", tags=TAGS,
     body=SiteIn, response=SiteOut, status=201)
def create_site():
    """Register a small construction site."""
    return tk.created(tk.register_from_request(SiteIn(), services.register_site, *MANAGING_ROLES, what="工地"),
                      _site_out)


@bp.get("/sites/<int:site_id>")
@tk.doc("One site with its open problems", tags=TAGS, response=SiteDetailOut, errors=(404,))
def get_site(site_id: int):
    """A site and what is still wrong there."""
    site = _site(site_id)
    out = _site_out.dump(site)
    out["open_problems"] = ChecklistLineOut(many=True).dump(services.open_problems(site))
    out["checklist"] = CHECKLIST
    return jsonify(out)


@bp.patch("/sites/<int:site_id>")
@tk.doc("Change a site's details (operators and managers)", tags=TAGS, body=SiteUpdate, response=SiteOut,
     errors=(404, 409))
def update_site(site_id: int):
    """Edit a site; only the fields sent change."""
    site = _site(site_id, *MANAGING_ROLES)
    data = tk.parse_json(SiteUpdate(), partial=True)
    services.update_site(site, data, tk.current_user())
    tk.db.session.commit()
    return jsonify(_site_out.dump(site))


@bp.post("/sites/<int:site_id>/close")
@tk.doc("Close a site (finished or abandoned)", tags=TAGS, body=SiteCloseIn, response=SiteOut, errors=(404, 409))
def close_site(site_id: int):
    """Close a site; it leaves the working lists."""
    site = _site(site_id, *MANAGING_ROLES)
    data = tk.parse_json(SiteCloseIn())
    services.close_site(site, data["reason"], tk.current_user())
    tk.db.session.commit()
    return jsonify(_site_out.dump(site))


@bp.get("/sites/<int:site_id>/contacts")
@tk.doc("Unmasked owner and contractor phone numbers (audited)", tags=TAGS, response=SiteContactsOut, errors=(404,))
def site_contacts(site_id: int):
    """Phone numbers in full, for calling the site; every view is audited."""
    site = _site(site_id)
    contacts = services.view_contacts(site, tk.current_user())
    tk.db.session.commit()
    return jsonify(contacts)


@bp.get("/sites/<int:site_id>/inspections")
@tk.doc("A site's inspections, newest first", tags=TAGS, query=tk.PageArgs, response=InspectionPage, errors=(404,))
def list_inspections(site_id: int):
    """Inspection history of one site."""
    return tk.paged(services.inspections_of(_site(site_id)), _inspection_out.dump)


@bp.post("/sites/<int:site_id>/inspections")
@tk.doc("Record an inspection: every checklist item, photos; failed items become work items", tags=TAGS,
     body=InspectionIn, response=InspectionOut, status=201, errors=(404, 409))
def create_inspection(site_id: int):
    """Inspect a site."""
    site = _site(site_id)  # found and in scope before the body is read
    return tk.created(services.inspect(site, actor=tk.current_user(), **tk.parse_json(InspectionIn())), _inspection_out)


@bp.get("/inspections/<int:inspection_id>")
@tk.doc("One inspection", tags=TAGS, response=InspectionOut, errors=(404,))
def get_inspection(inspection_id: int):
    """An inspection with its checklist lines and their work items."""
    inspection = tk.load_in_scope(Inspection, inspection_id, path=lambda i: i.site.org_path,
                                  missing=("inspection_not_found", "检查记录不存在", "No such inspection"))
    return jsonify(_inspection_out.dump(inspection))

