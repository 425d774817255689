"""Demo citizen reports for `flask toolbox seed --demo`: residents' committee Jing'an codes and two reports
per street through the H5 filing service (routed to the street, and — waterlogging — to the grid)."""

from __future__ import annotations

from sqlalchemy import select

from app.toolkit import (
    Place,
    create_place,
    db,
)
from toolbox.citizen_report import services

REPORTS = (
    ("environment", "小区门口垃圾桶满溢，已经两天没有清运，气味很大"),
    ("waterlogging", "路口积水没过脚踝，下水道口被落叶堵住"),
    ("facilities", "人行道地砖松动翘起，老人容易绊倒"),
    ("occupation", "沿街店铺占用人行道摆放货架"),
)


def seed_demo(ctx) -> list[int]:
    raised = []
    for s_index, street in enumerate(ctx.streets):
        committee = ctx.unit(f"{ctx.grid(street, 1)}C01")
        place = db.session.execute(select(Place).where(Place.org_unit_id == committee.id,
                                                       Place.kind == "committee")).scalar_one_or_none()
        if place is None:
            place = create_place(name=f"{committee.name}居委会", kind="committee", org_unit=committee,
                                 address=ctx.address(street, s_index + 120))
        for n in range(3):
            category, text = REPORTS[(s_index + n) % len(REPORTS)] if n == 0 else REPORTS[1]
            result = services.file_report(place, services.Submission(
                category=category, description=text if n < 2 else f"{text}（第二次反映）", privacy_accepted=True,
                source="h5",
                idempotency_key=f"demo-seed-{street}-{n}-reports", mobile=f"1350000{s_index:02d}{n:02d}"),
                check_duplicates=False)
            if result.created and result.report.work_item_id:
                raised.append(result.report.work_item_id)
    return raised
