"""Places (静安码): create, list, edit; QR codes, A4 posters, a street's posters as a ZIP."""

from __future__ import annotations

from flask import Response, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select

from app.api import PageArgs, PageOut, paginate, parse_args, parse_json
from app.auth import current_user, public
from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.place import Place, PlacePosterBatch
from app.models.users import Role
from app.schemas import several
from app.services import audit, media, places, posters
from app.services.like import contains, starts_with
from app.services.scope import admin_scope_clause, in_admin_scope, in_scope, scope_clause
from app.views import filter_unit
from miniprogram_api import bp
from miniprogram_api.openapi import doc

# Places are managed by the business side (operators and managers in scope) and by the system admin,
# whose administrative scope covers places but no business data (三员分立).
PLACE_ADMIN_ROLES = ("operator", "manager")


def _may_see(user, path: str, *roles: str) -> bool:
    return in_scope(user, path, *roles) or in_admin_scope(user, path, Role.ADMIN)


def _ensure_may_see(user, path: str, *roles: str) -> None:
    if not _may_see(user, path, *roles):
        raise ApiError(403, "out_of_scope", "该记录不在您的数据范围内", "This record is outside your data scope")


class PlaceIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.String(required=True, validate=places.check_kind)
    org_unit = fields.String(required=True, metadata={"description": "org unit code, e.g. JA01G01"})
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    ref_tool = fields.String(allow_none=True)
    ref_type = fields.String(allow_none=True)
    ref_id = fields.String(allow_none=True)


class PlacePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    kind = fields.String(validate=places.check_kind)
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    active = fields.Boolean()


class PlaceQuery(PageArgs):
    org_unit = fields.String(metadata={"description": "only places in this unit's subtree"})
    kind = fields.String(validate=places.check_kind, metadata={"description": "a place kind a tool declares"})
    q = fields.String(metadata={"description": "name or address contains"})
    active = fields.Boolean()


class PlaceOut(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"example": "7KQ2M9XHTP"})
    name, kind, kind_name = several(fields.String, 3)
    org_unit, street = fields.Dict(), fields.Dict(allow_none=True)
    address = fields.String(allow_none=True)
    lat, lng = several(fields.Float, 2, allow_none=True)
    active = fields.Boolean()
    # The tool record this place stands for (e.g. a construction site), if any.
    ref_tool, ref_type, ref_id = several(fields.String, 3, allow_none=True)
    # Where to get the code's report page, QR codes and posters.
    report_url, qrcode_png, qrcode_svg, poster_png, poster_pdf = several(fields.String, 5)


class PlacePage(PageOut):
    items = fields.List(fields.Nested(PlaceOut))


def _unit(code: str) -> OrgUnit:
    return filter_unit(code)


def _staff_place(code: str, *roles: str) -> Place:
    place = places.get_place(code)
    if place is None:
        raise ApiError(404, "place_not_found", "地点不存在", "No such place")
    _ensure_may_see(current_user(), place.org_path, *roles)
    return place


@bp.post("/places")
@doc("Create a place with a new Jing'an code (operator, manager, admin in scope)", tags=("places",),
     body=PlaceIn, response=PlaceOut, status=201, errors=(404,))
def create_place():
    """A new place; its code is short, unguessable and printed on its QR poster."""
    args = parse_json(PlaceIn())
    user = current_user()
    unit = _unit(args.pop("org_unit"))
    _ensure_may_see(user, unit.path, *PLACE_ADMIN_ROLES)
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
    user = current_user()
    visible = or_(scope_clause(Place.org_path, user), admin_scope_clause(Place.org_path, user, Role.ADMIN))
    stmt = select(Place).where(visible).order_by(Place.org_path, Place.name, Place.id)
    if "org_unit" in args:
        stmt = stmt.where(starts_with(Place.org_path, _unit(args["org_unit"]).path))
    if "kind" in args:
        stmt = stmt.where(Place.kind == args["kind"])
    if args.get("q"):
        stmt = stmt.where(or_(contains(Place.name, args["q"]),
                              contains(Place.address, args["q"])))
    if "active" in args:
        stmt = stmt.where(Place.active.is_(args["active"]))
    return jsonify(paginate(stmt, args["page"], args["per_page"], lambda p: p.to_dict()))


@bp.get("/places/<code:code>")
@doc("One place", tags=("places",), response=PlaceOut, errors=(404,))
def get_place(code: str):
    """One place in my scope."""
    return jsonify(_staff_place(code).to_dict())


@bp.patch("/places/<code:code>")
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


@bp.get("/places/<code:code>/qrcode.png")
@public
@doc("The place's QR code as PNG (opens the H5 report page)", tags=("places",), errors=(404,), public=True,
     content_type="image/png")
def place_qrcode_png(code: str):
    """PNG QR code; the code itself is what makes it public, so no token is needed."""
    place = places.get_place(code)
    if place is None:
        raise ApiError(404, "place_not_found", "地点不存在", "No such place")
    return Response(places.qr_png(place), mimetype="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/places/<code:code>/qrcode.svg")
@public
@doc("The place's QR code as SVG", tags=("places",), errors=(404,), public=True, content_type="image/svg+xml")
def place_qrcode_svg(code: str):
    """SVG QR code for print shops."""
    place = places.get_place(code)
    if place is None:
        raise ApiError(404, "place_not_found", "地点不存在", "No such place")
    return Response(places.qr_svg(place), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})




class PosterBatchIn(Schema):
    org_unit = fields.String(required=True, metadata={"description": "a street (or any unit) code, e.g. JA01"})
    format = fields.String(load_default="pdf", validate=validate.OneOf(sorted(posters.FORMATS)))


class PosterBatchOut(Schema):
    id = fields.Integer()
    org_unit = fields.Dict()
    format = fields.String()
    status = fields.String(metadata={"description": "queued | running | finished | failed"})
    total = fields.Integer()
    done = fields.Integer()
    progress = fields.Float(metadata={"description": "0.0 … 1.0"})
    error = fields.String(allow_none=True)
    download_url = fields.String(allow_none=True)


def _poster(code: str, fmt: str):
    place = _staff_place(code)
    data = posters.poster_bytes(place, fmt)
    return Response(data, mimetype=posters.FORMATS[fmt], headers={
        "Content-Disposition": f'inline; filename="jingan-code-{place.code}.{fmt}"'})


@bp.get("/places/<code:code>/poster.png")
@doc("A printable A4 poster (PNG, 150 dpi) with the QR code and Chinese instructions", tags=("places",),
     errors=(404, 503), content_type="image/png")
def place_poster_png(code: str):
    """A4 poster as PNG; 503 cjk_font_missing when the server has no Chinese font."""
    return _poster(code, "png")


@bp.get("/places/<code:code>/poster.pdf")
@doc("A printable A4 poster (PDF)", tags=("places",), errors=(404, 503), content_type="application/pdf")
def place_poster_pdf(code: str):
    """A4 poster as PDF."""
    return _poster(code, "pdf")


@bp.post("/places/poster-batches")
@doc("Build all posters of a street as one ZIP in the background (RQ job with progress)", tags=("places",),
     body=PosterBatchIn, response=PosterBatchOut, status=202, errors=(404,))
def create_poster_batch():
    """Queue the ZIP; poll GET /places/poster-batches/<id> for progress, then download it."""
    args = parse_json(PosterBatchIn())
    user = current_user()
    unit = _unit(args["org_unit"])
    _ensure_may_see(user, unit.path, *PLACE_ADMIN_ROLES)
    batch = posters.request_batch(unit, args["format"], user)
    db.session.commit()
    db.session.refresh(batch)
    return jsonify(batch.to_dict()), 202


def _batch(batch_id: int) -> PlacePosterBatch:
    batch = db.session.get(PlacePosterBatch, batch_id)
    if batch is None or not _may_see(current_user(), batch.org_unit.path):
        raise ApiError(404, "poster_batch_not_found", "海报打包任务不存在", "No such poster batch")
    return batch


@bp.get("/places/poster-batches/<int:batch_id>")
@doc("Progress of a poster ZIP", tags=("places",), response=PosterBatchOut, errors=(404,))
def get_poster_batch(batch_id: int):
    """Status and progress (done / total) of the ZIP job."""
    return jsonify(_batch(batch_id).to_dict())


@bp.get("/places/poster-batches/<int:batch_id>/download")
@doc("Download the finished ZIP of posters", tags=("places",), errors=(404, 409), content_type="application/zip")
def download_poster_batch(batch_id: int):
    """The ZIP, once the job has finished."""
    batch = _batch(batch_id)
    if batch.status != "finished" or not media.exists(batch.file_key):
        raise ApiError(409, "poster_batch_not_ready", "海报尚在生成中", "The ZIP is not ready yet",
                       batch_status=batch.status, progress=batch.progress)
    return Response(media.read(batch.file_key), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="jingan-posters-{batch.org_unit.code}-{batch.id}.zip"'})
