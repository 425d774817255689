"""Demo flood duty for `flask toolbox seed --demo`: waterlogging points with resources, rosters, a past
rainstorm warning (raised, then lifted) and depth reports, some over the threshold."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.toolkit import (
    db,
)
from toolbox.flood_duty import services
from toolbox.flood_duty.models import FloodWarning, WaterPoint

SPOTS = ("下立交", "路口", "小区门口", "地道")


def seed_demo(ctx) -> list[int]:
    raised = []
    first_run = db.session.execute(select(FloodWarning.id).limit(1)).first() is None
    for s_index, street in enumerate(ctx.streets):
        for n in range(2):
            number = s_index * 2 + n
            name = f"{ctx.address(street, number + 80).split('号')[0]}号{SPOTS[number % len(SPOTS)]}"
            if db.session.execute(select(WaterPoint.id).where(WaterPoint.name == name)).first():
                continue
            grid = ctx.unit(ctx.grid(street, n + 1))
            operator = ctx.user(f"{street.lower()}-operator")
            point = services.create_point({"name": name, "address": ctx.address(street, number + 80),
                                           "threshold_cm": 15}, grid, operator)
            services.add_resource(point, {"kind": "pump", "quantity": 2, "unit": "台", "note": ""}, operator)
            services.add_resource(point, {"kind": "sandbag", "quantity": 200, "unit": "袋", "note": ""}, operator)
            depth = (5, 8, 22, 12, 35)[number % 5]
            report = services.report_depth(point, depth, ctx.user(f"{grid.code.lower()}-worker"),
                                           note="雨后积水" if depth < 15 else "积水较深，车辆通行困难",
                                           at=ctx.now - timedelta(hours=2 + number))
            db.session.flush()
            if report.work_item_id and report.work_item_id not in raised:
                raised.append(report.work_item_id)
    if first_run:
        _past_warning(ctx)
    return raised


def _past_warning(ctx) -> None:
    """A yellow rainstorm warning three days ago: rosters called, most confirmed, then lifted."""
    start = ctx.now - timedelta(days=3)
    district = ctx.unit("JA")
    for street in ctx.streets[:4]:
        services.save_roster({"name": f"{ctx.unit(street).name}汛期值班", "shift_start": start - timedelta(hours=2),
                              "shift_end": start + timedelta(hours=22), "activate_from": "blue",
                              "members": [{"userid": f"{street.lower()}-operator", "duty": "leader"},
                                          {"userid": f"{street.lower()}g01-worker", "duty": "on_duty"},
                                          {"userid": f"{street.lower()}g02-worker", "duty": "rescue"}]},
                             ctx.unit(street), ctx.user("ja-operator"))
    db.session.flush()
    warning = services.set_level(district, "yellow", ctx.user("ja-operator"), hazard="rainstorm",
                                 message="预计未来 6 小时内有 50 毫米以上降水", now=start)
    db.session.flush()
    for n, street in enumerate(ctx.streets[:4]):
        for userid in (f"{street.lower()}-operator", f"{street.lower()}g01-worker"):
            if n == 3 and userid.endswith("worker"):
                continue  # one person never confirmed
            call = services.confirm_arrival(warning, ctx.user(userid), note="已到岗")
            call.confirmed_at = start + timedelta(minutes=20 + 5 * n)
    services.set_level(district, "none", ctx.user("ja-operator"), hazard="rainstorm", message="降雨已结束",
                       now=start + timedelta(hours=8))
