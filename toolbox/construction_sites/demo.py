"""Demo sites for `flask toolbox seed --demo`: two per street, inspected, some with failed items."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.toolkit import (
    db,
)
from toolbox.construction_sites import services
from toolbox.construction_sites.models import CHECKLIST, Site

KINDS = ("renovation", "repair", "pipeline", "road", "demolition", "greening")
OWNERS = ("静安置业有限公司", "市北物业管理有限公司", "上海静安城市更新有限公司", "大宁商业管理有限公司")
BUILDERS = ("上海建工七建集团", "静安市政工程有限公司", "上海城建装饰工程公司", "沪北建设工程有限公司")
NAMES = ("居民楼外立面修缮", "沿街商铺装修", "雨污水管道改造", "人行道翻修", "老旧小区加装电梯", "绿地改造")
PROBLEMS = {"dust": "裸土未覆盖，现场扬尘明显", "enclosure": "东侧围挡缺失约 5 米",
            "waste": "渣土堆放未清运，占用人行道", "noise": "夜间 22 点后仍在施工", "signs": "未设置安全警示标志",
            "road": "占道施工未经许可"}


def seed_demo(ctx) -> list[int]:
    raised = []
    for s_index, street in enumerate(ctx.streets):
        for n in range(2):
            number = s_index * 2 + n
            name = f"{ctx.address(street, number)}{NAMES[number % len(NAMES)]}"
            if db.session.execute(select(Site.id).where(Site.name == name)).first():
                continue
            grid = ctx.unit(ctx.grid(street, n + 1))
            start = ctx.now.date() - timedelta(days=40 + 3 * number)
            site = services.register_site({
                "name": name, "address": ctx.address(street, number), "work_kind": KINDS[number % len(KINDS)],
                "owner_name": OWNERS[number % len(OWNERS)], "owner_contact": "张经理",
                "owner_phone": f"1391234{number:04d}",
                "contractor_name": BUILDERS[number % len(BUILDERS)], "contractor_contact": "李工",
                "contractor_phone": f"1381234{number:04d}", "permit_number": f"沪静建〔2026〕{200 + number}号",
                "start_date": start, "end_date": start + timedelta(days=45 + 5 * (number % 6)),
                "description": "小型工程，工期约两个月", "night_work_permitted": False,
            }, grid, ctx.user(f"{street.lower()}-operator"))
            if number % 3 == 2:
                continue  # not inspected yet: it shows in 久未检查 once its interval passes
            failing = [] if number % 3 == 0 else [list(CHECKLIST)[number % len(CHECKLIST)]]
            inspection = services.inspect(site, [
                {"item": code, "passed": code not in failing, "note": PROBLEMS[code] if code in failing else "",
                 "photo_ids": []} for code in CHECKLIST], ctx.user(f"{grid.code.lower()}-worker"),
                remarks="例行检查", inspected_at=ctx.now - timedelta(days=number % 10))
            db.session.flush()
            raised += [line.work_item_id for line in inspection.items if line.work_item_id]
    return raised
