"""Demo buildings for `flask toolbox seed --demo`: three per street, most inspected, a few high risk."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.toolkit import (
    db,
)
from toolbox.facade_inspection import services
from toolbox.facade_inspection.models import ITEMS, Building

ESTATES = ("新村", "公寓", "大楼", "里弄", "花园")
PARTIES = ("静安置业物业", "市北物业", "大宁物业服务中心", "房管所直管")
NOTES = {"ac_brackets": "空调外机支架锈蚀松动", "finish_tiles": "外墙面砖空鼓，局部脱落", "windows": "窗框松动",
         "billboards": "店招固定件锈蚀", "awnings": "雨篷破损", "balcony_objects": "阳台外侧堆放花盆"}


def seed_demo(ctx) -> list[int]:
    raised = []
    for s_index, street in enumerate(ctx.streets):
        for n in range(3):
            number = s_index * 3 + n
            name = f"{ctx.address(street, number + 50)}{ESTATES[number % len(ESTATES)]}{n + 1}号楼"
            if db.session.execute(select(Building.id).where(Building.name == name)).first():
                continue
            grid = ctx.unit(ctx.grid(street, n + 1))
            building = services.register_building({
                "name": name, "address": ctx.address(street, number + 50), "floors": 5 + number % 20,
                "built_year": 1960 + number % 50, "structure": ("brick_concrete", "frame", "brick_wood")[number % 3],
                "managing_party": PARTIES[number % len(PARTIES)], "managing_contact": "王师傅",
                "managing_phone": f"1371234{number:04d}",
            }, grid, ctx.user(f"{street.lower()}-operator"))
            if n == 2:
                continue  # not inspected yet
            grade = ("none", "low", "medium", "high")[number % 4] if number % 5 else "high"
            worst = list(ITEMS)[number % len(ITEMS)]
            inspection = services.inspect(building, [
                {"item": code, "grade": grade if code == worst else "none",
                 "note": NOTES[code] if code == worst and grade in ("medium", "high") else "", "photo_ids": []}
                for code in ITEMS], ctx.user(f"{grid.code.lower()}-worker"), remarks="外墙专项排查",
                inspected_at=ctx.now - timedelta(days=number % 12))
            db.session.flush()
            if inspection.work_item_outcome == "raised":
                raised.append(inspection.work_item_id)
    return raised
