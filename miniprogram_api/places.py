"""Places (静安码): create, list, edit; QR codes, A4 posters, a street's posters as a ZIP."""

from __future__ import annotations

from flask import Response, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select

from app.api import PageArgs, paginate, parse_args, parse_json
from app.auth import current_user, public
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.place import PLACE_KINDS, Place
from app.services import audit, places
from app.services.scope import ensure_in_scope, scoped
from miniprogram_api import bp
from miniprogram_api.openapi import doc

PLACE_ADMIN_ROLES = ("operator", "manager", "admin")


class PlaceIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.String(required=True, validate=validate.OneOf(sorted(PLACE_KINDS)))
    org_unit = fields.String(required=True, metadata={"description": "org unit code, e.g. JA01G01"})
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    ref_tool = fields.String(allow_none=True)
    ref_type = fields.String(allow_none=True)
    ref_id = fields.String(allow_none=True)


class PlacePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    kind = fields.String(validate=validate.OneOf(sorted(PLACE_KINDS)))
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    active = fields.Boolean()


class PlaceQuery(PageArgs):
    org_unit = fields.String(metadata={"description": "only places in this unit's subtree"})
    kind = fields.String(validate=validate.OneOf(sorted(PLACE_KINDS)))
    q = fields.String(metadata={"description": "name or address contains"})
    active = fields.Boolean()


class PlaceOut(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"example": "7KQ2M9XHTP"})
    name = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    org_unit = fields.Dict()
    street = fields.Dict(allow_none=True)
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    active = fields.Boolean()
    ref_tool = fields.String(allow_none=True)
    ref_type = fields.String(allow_none=True)
    ref_id = fields.String(allow_none=True)
    report_url = fields.String()
    qrcode_png = fields.String()
    qrcode_svg = fields.String()
    poster_png = fields.String()
    poster_pdf = fields.String()


class PlacePage(Schema):
    items = fields.List(fields.Nested(PlaceOut))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


def _unit(code: str) -> OrgUnit:
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise ApiError(404, "org_unit_not_found", "单位不存在", "No such org unit")
    return unit


def _staff_place(code: str, *roles: str) -> Place:
    place = places.get_place(code)
    if place is None:
        raise ApiError(404, "place_not_found", "地点不存在", "No such place")
    ensure_in_scope(current_user(), place.org_path, *roles)
    return place


@bp.post("/places")
@doc("Create a place with a new Jing'an code (operator, manager, admin in scope)", tags=("places",),
     body=PlaceIn, response=PlaceOut, status=201, errors=(404,))
def create_place():
    """A new place; its code is short, unguessable and printed on its QR poster."""
    args = parse_json(PlaceIn())
    user = current_user()
    unit = _unit(args.pop("org_unit"))
    ensure_in_scope(user, unit.path, *PLACE_ADMIN_ROLES)
    place = places.create_place(org_unit=unit, created_by=user, **args)
    audit.record("place.create", target_type="place", target_id=place.code,
                 detail={"name": place.name, "org_unit": unit.code})
    db.session.commit()
    return jsonify(place.to_dict()), 201


@bp.get("/places")
@doc("Places in my data scope", tags=("places",), query=PlaceQuery, response=PlacePage)
def list_places():
    """Places in the caller's scope, filtered by unit, kind, text, active."""
    args = parse_args(PlaceQuery())
    stmt = scoped(select(Place), Place.org_path, current_user()).order_by(Place.org_path, Place.name, Place.id)
    if "org_unit" in args:
        stmt = stmt.where(Place.org_path.startswith(_unit(args["org_unit"]).path, autoescape=True))
    if "kind" in args:
        stmt = stmt.where(Place.kind == args["kind"])
    if args.get("q"):
        stmt = stmt.where(or_(Place.name.contains(args["q"], autoescape=True),
                              Place.address.contains(args["q"], autoescape=True)))
    if "active" in args:
        stmt = stmt.where(Place.active.is_(args["active"]))
    return jsonify(paginate(stmt, args["page"], args["per_page"], lambda p: p.to_dict()))


@bp.get("/places/<code>")
@doc("One place", tags=("places",), response=PlaceOut, errors=(404,))
def get_place(code: str):
    """One place in my scope."""
    return jsonify(_staff_place(code).to_dict())


@bp.patch("/places/<code>")
@doc("Edit a place, or disable its code (active=false)", tags=("places",), body=PlacePatch, response=PlaceOut,
     errors=(404,))
def update_place(code: str):
    """Change a place's details; a disabled code shows citizens a friendly 'not in use' page."""
    place = _staff_place(code, *PLACE_ADMIN_ROLES)
    args = parse_json(PlacePatch(), partial=True)
    for key, value in args.items():
        setattr(place, key, value)
    audit.record("place.update", target_type="place", target_id=place.code, detail={"fields": sorted(args)})
    db.session.commit()
    return jsonify(place.to_dict())


@bp.get("/places/<code>/qrcode.png")
@public
@doc("The place's QR code as PNG (opens the H5 report page)", tags=("places",), errors=(404,), public=True)
def place_qrcode_png(code: str):
    """PNG QR code; the code itself is what makes it public, so no token is needed."""
    place = places.get_place(code)
    if place is None:
        raise ApiError(404, "place_not_found", "地点不存在", "No such place")
    return Response(places.qr_png(place), mimetype="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/places/<code>/qrcode.svg")
@public
@doc("The place's QR code as SVG", tags=("places",), errors=(404,), public=True)
def place_qrcode_svg(code: str):
    """SVG QR code for print shops."""
    place = places.get_place(code)
    if place is None:
        raise ApiError(404, "place_not_found", "地点不存在", "No such place")
    return Response(places.qr_svg(place), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


