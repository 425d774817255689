"""HTTP API of facade fall-risk inspection, mounted at /api/v1/tools/facade_inspection/."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import or_, select

from app.api import PageArgs, paginate, parse_args, parse_json
from app.auth import current_user
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgLevel, OrgUnit
from app.services.scope import ensure_in_scope, scope_clause
from app.services.toolbox import require_tool_access
from miniprogram_api.openapi import doc
from toolbox.facade_inspection import services
from toolbox.facade_inspection.models import GRADES, ITEMS, STRUCTURES, Building, FacadeInspection
from toolbox.facade_inspection.schemas import (
    FacadeBuildingIn,
    FacadeBuildingOut,
    FacadeBuildingPage,
    FacadeBuildingQuery,
    FacadeBuildingUpdate,
    FacadeInspectionIn,
    FacadeInspectionOut,
    FacadeInspectionPage,
    FacadeProgressOut,
    FacadeProgressQuery,
)

bp = Blueprint("facade_inspection", __name__)
TAGS = ("facade_inspection",)
MANAGING_ROLES = ("operator", "manager")  # keep the building register

_building_out = FacadeBuildingOut()
_inspection_out = FacadeInspectionOut()


@bp.before_request
def _tool_access():
    require_tool_access(current_user(), services.CODE)


def _building(building_id: int, *roles: str) -> Building:
    building = db.session.get(Building, building_id)
    if building is None:
        raise ApiError(404, "building_not_found", "楼宇不存在", "No such building")
    ensure_in_scope(current_user(), building.org_path, *roles)
    return building


@bp.get("/items")
@doc("The items every inspection grades, the grades and building structures", tags=TAGS)
def reference():
    """Codes and Chinese names for the mini-app's forms."""
    return jsonify({"items": [{"item": k, "name": v} for k, v in ITEMS.items()],
                    "grades": [{"grade": k, "name": v} for k, v in GRADES.items()],
                    "structures": [{"structure": k, "name": v} for k, v in STRUCTURES.items()]})


@bp.get("/buildings")
@doc("Buildings in my scope, filtered by risk level or open rectification", tags=TAGS, query=FacadeBuildingQuery,
     response=FacadeBuildingPage)
def list_buildings():
    """The building register."""
    args = parse_args(FacadeBuildingQuery())
    stmt = select(Building).where(scope_clause(Building.org_path, current_user()))
    if "risk_level" in args:
        risk = args["risk_level"]
        stmt = stmt.where(Building.risk_level.is_(None) if risk == "uninspected" else Building.risk_level == risk)
    if "rectification_open" in args:
        stmt = stmt.where(Building.rectification_open.is_(args["rectification_open"]))
    if "org_unit" in args:
        unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == args["org_unit"])).scalar_one_or_none()
        if unit is None:
            raise ApiError(400, "invalid_query", "单位不存在", "No such org unit")
        stmt = stmt.where(Building.org_path.startswith(unit.path, autoescape=True))
    if args.get("q"):
        like = f"%{args['q']}%"
        stmt = stmt.where(or_(Building.name.ilike(like), Building.address.ilike(like),
                              Building.managing_party.ilike(like)))
    stmt = stmt.order_by(Building.org_path, Building.id)
    return jsonify(paginate(stmt, args["page"], args["per_page"], _building_out.dump))


@bp.post("/buildings")
@doc("Add a building to the register (operators and managers)", tags=TAGS, body=FacadeBuildingIn,
     response=FacadeBuildingOut, status=201)
def create_building():
    """Register a building; it gets a Jing'an code."""
    data = parse_json(FacadeBuildingIn())
    code = data.pop("org_unit")
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise ApiError(422, fields={"org_unit": ["所属单位不存在"]})
    if unit.level not in (OrgLevel.STREET, OrgLevel.GRID, OrgLevel.COMMITTEE):
        raise ApiError(422, fields={"org_unit": ["楼宇须登记在街镇、网格或居村"]})
    ensure_in_scope(current_user(), unit.path, *MANAGING_ROLES)
    building = services.register_building(data, unit, current_user())
    db.session.commit()
    return jsonify(_building_out.dump(building)), 201


@bp.get("/buildings/<int:building_id>")
@doc("One building", tags=TAGS, response=FacadeBuildingOut, errors=(404,))
def get_building(building_id: int):
    """A building, its current risk and rectification."""
    return jsonify(_building_out.dump(_building(building_id)))


@bp.patch("/buildings/<int:building_id>")
@doc("Change a building's details (operators and managers)", tags=TAGS, body=FacadeBuildingUpdate,
     response=FacadeBuildingOut, errors=(404,))
def update_building(building_id: int):
    """Edit a building; only the fields sent change."""
    building = _building(building_id, *MANAGING_ROLES)
    services.update_building(building, parse_json(FacadeBuildingUpdate(), partial=True), current_user())
    db.session.commit()
    return jsonify(_building_out.dump(building))


@bp.get("/buildings/<int:building_id>/inspections")
@doc("A building's inspections, newest first", tags=TAGS, query=PageArgs, response=FacadeInspectionPage,
     errors=(404,))
def list_inspections(building_id: int):
    """Inspection history of one building."""
    building = _building(building_id)
    args = parse_args(PageArgs())
    stmt = select(FacadeInspection).where(FacadeInspection.building_id == building.id).order_by(
        FacadeInspection.inspected_at.desc(), FacadeInspection.id.desc())
    return jsonify(paginate(stmt, args["page"], args["per_page"], _inspection_out.dump))


@bp.post("/buildings/<int:building_id>/inspections")
@doc("Inspect a building item by item; high risk raises a rectification work item, a lower re-inspection "
     "closes it", tags=TAGS, body=FacadeInspectionIn, response=FacadeInspectionOut, status=201, errors=(404,))
def create_inspection(building_id: int):
    """Record an inspection."""
    building = _building(building_id)
    data = parse_json(FacadeInspectionIn())
    inspection = services.inspect(building, data["items"], current_user(), remarks=data["remarks"],
                                  photo_ids=data["photo_ids"])
    db.session.commit()
    return jsonify(_inspection_out.dump(inspection)), 201


@bp.get("/progress")
@doc("Campaign progress per street: inspected of total, by risk level", tags=TAGS, query=FacadeProgressQuery,
     response=FacadeProgressOut)
def progress():
    """How far the inspection campaign has got in each street of my scope."""
    args = parse_args(FacadeProgressQuery())
    streets = services.progress_by_street(current_user(), args.get("since"))
    totals = {"total": sum(s["total"] for s in streets), "inspected": sum(s["inspected"] for s in streets),
              "uninspected": sum(s["uninspected"] for s in streets),
              "by_risk": {g: sum(s["by_risk"][g] for s in streets) for g in GRADES}}
    totals["percent"] = round(100 * totals["inspected"] / totals["total"], 1) if totals["total"] else 0.0
    return jsonify(FacadeProgressOut().dump({"since": args.get("since"), "streets": streets, "totals": totals}))

