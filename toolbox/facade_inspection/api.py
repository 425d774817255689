"""HTTP API of facade fall-risk inspection, mounted at /api/v1/tools/facade_inspection/.

The registry checks that the caller may open the tool before every view here.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import not_

from app import toolkit as tk
from toolbox.facade_inspection import services
from toolbox.facade_inspection.models import GRADES, ITEMS, STRUCTURES, Building
from toolbox.facade_inspection.schemas import (
    BuildingIn,
    BuildingOut,
    BuildingPage,
    BuildingQuery,
    BuildingUpdate,
    InspectionIn,
    InspectionOut,
    InspectionPage,
    ProgressOut,
    ProgressQuery,
    ReferenceOut,
)

bp = Blueprint("facade_inspection", __name__)
TAGS = ("facade_inspection",)
MANAGING_ROLES = ("operator", "manager")  # keep the building register
MISSING = ("building_not_found", "楼宇不存在", "No such building")

_building_out = BuildingOut()
_inspection_out = InspectionOut()


def _building(building_id: int, *roles: str) -> Building:
    return tk.load_in_scope(Building, building_id, *roles, missing=MISSING)


@bp.get("/items")
@tk.doc("The items every inspection grades, the grades and building structures", tags=TAGS, response=ReferenceOut)
def reference():
    """Codes and Chinese names for the mini-app's forms."""
    return jsonify({"items": [{"item": k, "name": v} for k, v in ITEMS.items()],
                    "grades": [{"grade": k, "name": v} for k, v in GRADES.items()],
                    "structures": [{"structure": k, "name": v} for k, v in STRUCTURES.items()]})


@bp.get("/buildings")
@tk.doc("Buildings in my scope, filtered by risk level or open rectification", tags=TAGS, query=BuildingQuery,
        response=BuildingPage)
def list_buildings():
    """The building register."""
    args = tk.parse_args(BuildingQuery())
    stmt = tk.in_my_scope(Building)
    if "risk_level" in args:
        risk = args["risk_level"]
        stmt = stmt.where(Building.risk_level.is_(None) if risk == "uninspected" else Building.risk_level == risk)
    if "rectification_open" in args:
        rectifying = tk.has_open_work_item(Building)
        stmt = stmt.where(rectifying if args["rectification_open"] else not_(rectifying))
    if "org_unit" in args:
        stmt = stmt.where(tk.under_unit(Building.org_path, args["org_unit"]))
    if args.get("q"):
        stmt = stmt.where(tk.text_matches(args["q"], Building.name, Building.address, Building.managing_party))
    return tk.paged(stmt.order_by(Building.org_path, Building.id), _building_out.dump, args)


@bp.post("/buildings")
@tk.doc("Add a building to the register (operators and managers)", tags=TAGS, body=BuildingIn,
        response=BuildingOut, status=201)
def create_building():
    """Register a building; it gets a Jing'an code."""
    building = tk.register_from_request(BuildingIn(), services.register_building, *MANAGING_ROLES, what="楼宇")
    return tk.created(building, _building_out)


@bp.get("/buildings/<int:building_id>")
@tk.doc("One building", tags=TAGS, response=BuildingOut, errors=(404,))
def get_building(building_id: int):
    """A building, its current risk and rectification."""
    return jsonify(_building_out.dump(_building(building_id)))


@bp.patch("/buildings/<int:building_id>")
@tk.doc("Change a building's details (operators and managers)", tags=TAGS, body=BuildingUpdate,
        response=BuildingOut, errors=(404,))
def update_building(building_id: int):
    """Edit a building; only the fields sent change."""
    building = _building(building_id, *MANAGING_ROLES)
    tk.update_record(building, tk.parse_json(BuildingUpdate(), partial=True), tk.current_user())
    tk.db.session.commit()
    return jsonify(_building_out.dump(building))


@bp.get("/buildings/<int:building_id>/inspections")
@tk.doc("A building's inspections, newest first", tags=TAGS, query=tk.PageArgs, response=InspectionPage,
        errors=(404,))
def list_inspections(building_id: int):
    """Inspection history of one building."""
    return tk.paged(services.inspections_of(_building(building_id)), _inspection_out.dump)


@bp.post("/buildings/<int:building_id>/inspections")
@tk.doc("Inspect a building item by item; high risk raises a rectification work item, a lower re-inspection "
        "closes it", tags=TAGS, body=InspectionIn, response=InspectionOut, status=201, errors=(404,))
def create_inspection(building_id: int):
    """Record an inspection."""
    building = _building(building_id)  # found and in scope before the body is read
    inspection = services.inspect(building, actor=tk.current_user(), **tk.parse_json(InspectionIn()))
    return tk.created(inspection, _inspection_out)


@bp.get("/progress")
@tk.doc("Campaign progress per street: inspected of total, by risk level", tags=TAGS, query=ProgressQuery,
        response=ProgressOut)
def progress():
    """How far the inspection campaign has got in each street of my scope."""
    args = tk.parse_args(ProgressQuery())
    streets = services.progress_by_street(tk.current_user(), args.get("since"))
    totals = {"total": sum(s["total"] for s in streets), "inspected": sum(s["inspected"] for s in streets),
              "uninspected": sum(s["uninspected"] for s in streets),
              "by_risk": {g: sum(s["by_risk"][g] for s in streets) for g in GRADES}}
    totals["percent"] = round(100 * totals["inspected"] / totals["total"], 1) if totals["total"] else 0.0
    return jsonify(ProgressOut().dump({"since": args.get("since"), "streets": streets, "totals": totals}))
