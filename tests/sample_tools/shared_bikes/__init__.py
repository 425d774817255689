"""共享单车停放巡查 — shared-bike parking inspection: the sample third-party tool of docs/tools.md.

Parking points are registered with a Jing'an code; a worker counts the bikes at one, and a count
above the point's capacity hands the pile-up to the street as a work item (one at a time). Points
feed one-click query. Everything the tool needs from the platform comes from app.toolkit.
"""

from datetime import datetime

from flask import Blueprint, jsonify
from marshmallow import fields, validate
from sqlalchemy import ForeignKey, Integer, select
from sqlalchemy.orm import Mapped, mapped_column

from app import toolkit as tk

CODE = "shared_bikes"


class Point(tk.RegisterRecord, tk.db.Model):
    __tablename__ = "shared_bikes_point"
    record_of = (CODE, "point")  # its tool and record type: for its place, audit rows and work items
    place_kind = "bike_parking"  # declared in the manifest below

    id: Mapped[int] = mapped_column(primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer)
    last_count: Mapped[int | None] = mapped_column(Integer)

    def search_record(self):
        item = tk.open_work_item_for(self)
        return tk.SearchableRecord(tool=CODE, type="point", id=str(self.id), org_path=self.org_path,
                                   title=f"单车停放点 {self.name}", address=self.address,
                                   text=f"容量{self.capacity}辆 {item.number if item else ''}",
                                   status="overflowing" if item else "normal", updated_at=self.updated_at)


class Check(tk.db.Model):
    __tablename__ = "shared_bikes_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("shared_bikes_point.id", ondelete="CASCADE"), index=True)
    bikes: Mapped[int] = mapped_column(Integer)
    checked_at: Mapped[datetime] = mapped_column(tk.UTCDateTime(), default=tk.utcnow)
    work_item_id: Mapped[int | None] = mapped_column(Integer)


class PointIn(tk.RecordIn):
    capacity = fields.Integer(required=True, validate=validate.Range(1, 500, error="容量须在 {min} 至 {max} 之间"))


class PointOut(tk.RecordOut, tk.WithOpenWorkItem):
    capacity = fields.Integer()
    last_count = fields.Integer(allow_none=True)
    overflow_work_item = tk.WithOpenWorkItem.number()


class CheckIn(tk.ZhSchema):
    bikes = fields.Integer(required=True, validate=validate.Range(0, 5000, error="数量须在 {min} 至 {max} 之间"))


class CheckOut(tk.ZhSchema):
    id = fields.Integer()
    point_id = fields.Integer()
    bikes = fields.Integer()
    work_item_id = fields.Integer(allow_none=True)


bp = Blueprint(CODE, __name__)
_point_out = PointOut()


@bp.post("/points")
@tk.doc("Register a parking point; it gets a Jing'an code", tags=(CODE,), body=PointIn, response=PointOut, status=201)
def create_point():
    """A parking point in a unit of my scope, with a Jing'an code."""
    point = tk.register_from_request(PointIn(), lambda data, unit, user: tk.register_record(Point(**data), unit, user),
                                     "operator", "manager", what="停放点")
    return tk.created(point, _point_out)


@bp.get("/points")
@tk.doc("Parking points in my scope", tags=(CODE,), query=tk.PageArgs, response=tk.page_of(PointOut))
def list_points():
    """Points, paged."""
    return tk.paged(tk.in_my_scope(Point).order_by(Point.id), _point_out.dump)


@bp.post("/points/<int:point_id>/checks")
@tk.doc("Count the bikes at a point; above its capacity a work item goes to the street", tags=(CODE,),
        body=CheckIn, response=CheckOut, status=201, errors=(404,))
def check_point(point_id: int):
    """One inspection."""
    point = tk.load_in_scope(Point, point_id, missing=("point_not_found", "停放点不存在", "No such parking point"))
    check = Check(point_id=point.id, bikes=tk.parse_json(CheckIn())["bikes"])
    point.last_count = check.bikes
    if check.bikes > point.capacity:
        item = tk.open_work_item_for(point) or tk.raise_work_item(
            point, category="overflow", title=f"{point.name}共享单车超量堆放", actor=tk.current_user(),
            description=f"停放 {check.bikes} 辆，容量 {point.capacity} 辆", address=point.address)
        check.work_item_id = item.id
    tk.db.session.add(check)
    tk.index_record(point)
    tk.db.session.commit()
    return jsonify(CheckOut().dump(check)), 201


tool = tk.Tool(
    manifest=tk.Manifest(
        code=CODE, name="共享单车停放巡查", icon="bike", version="0.1.0",
        categories=(tk.Category("overflow", "共享单车超量堆放", route_to="street", limit="1 working day"),),
        place_kinds=(tk.PlaceKind("bike_parking", "共享单车停放点", citizen_categories=("occupation", "other")),),
        search_types=("point",)),
    blueprint=bp,
    search_documents=lambda: (p.search_record() for p in tk.db.session.execute(select(Point)).scalars()),
    on_work_item_changed=lambda sender, source_id, **_: tk.index_record(tk.db.session.get(Point, int(source_id))),
)
