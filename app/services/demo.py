"""`flask toolbox seed --demo`: a demo district with life in it, written through the real services.

Each tool brings its own demo records in `<its package>/demo.py` (`seed_demo(ctx) -> [work item ids]`,
found through the registry, as the workbench finds `workbench.py`); this module runs them, then moves
the work items they raised through the workflow — signed, handled, fed back, reviewed, followed up,
returned, forwarded across streets (an approval waiting), extensions asked for — and lets
supervision find the overdue ones, so the inbox, one-click query and dashboards show something on
the first run. Running it again adds nothing: each tool skips records it already has, and the
workflow steps run only on items raised by this run.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models.org import OrgLevel, OrgUnit
from app.models.users import Membership, Role, User
from app.models.workitem import WorkItem
from app.registry import current_registry
from app.services import workflow

log = logging.getLogger(__name__)

# Roads of each street (JA01 … JA14), for addresses that read like Jing'an's.
ROADS = {
    "JA01": ("江宁路", "昌平路", "西康路", "武定路"), "JA02": ("石门二路", "新闸路", "泰兴路", "康定路"),
    "JA03": ("南京西路", "威海路", "吴江路", "茂名北路"), "JA04": ("愚园路", "常德路", "华山路", "延安中路"),
    "JA05": ("万航渡路", "长寿路", "武宁南路", "余姚路"), "JA06": ("天目西路", "恒丰路", "长安路", "大统路"),
    "JA07": ("天目东路", "浙江北路", "海宁路", "七浦路"), "JA08": ("宝山路", "宝昌路", "鸿兴路", "东宝兴路"),
    "JA09": ("共和新路", "中山北路", "洛川中路", "延长中路"), "JA10": ("大宁路", "广中西路", "万荣路", "平型关路"),
    "JA11": ("场中路", "共康路", "保德路", "平顺路"), "JA12": ("临汾路", "汶水东路", "阳曲路", "岭南路"),
    "JA13": ("芷江西路", "普善路", "虬江路", "柳营路"), "JA14": ("沪太路", "汶水路", "江场三路", "永和路"),
}


@dataclass
class DemoContext:
    """What a tool's demo needs: units and people by code, a seeded random, addresses."""

    now: datetime = field(default_factory=utcnow)
    rng: random.Random = field(default_factory=lambda: random.Random(16))
    _units: dict[str, OrgUnit] = field(default_factory=dict)
    _users: dict[str, User] = field(default_factory=dict)

    def unit(self, code: str) -> OrgUnit:
        if code not in self._units:
            self._units[code] = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one()
        return self._units[code]

    def user(self, userid: str) -> User:
        if userid not in self._users:
            self._users[userid] = db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one()
        return self._users[userid]

    @property
    def streets(self) -> list[str]:
        return sorted(ROADS)

    def address(self, street: str, number: int) -> str:
        roads = ROADS[street]
        return f"{roads[number % len(roads)]}{100 + 37 * number % 900}号"

    def grid(self, street: str, n: int) -> str:
        return f"{street}G{n:02d}"


def _tool_demos():
    for tool in current_registry():
        name = f"{tool.package}.demo" if tool.package else None
        if name and importlib.util.find_spec(name) is not None:
            yield tool, importlib.import_module(name)


def seed_demo() -> dict:
    """Every tool's demo records, then the workflow over the items they raised. Idempotent."""
    ctx = DemoContext()
    raised: list[int] = []
    counts: dict[str, int] = {}
    for tool, module in _tool_demos():
        ids = module.seed_demo(ctx) or []
        db.session.commit()
        counts[tool.code] = len(ids)
        raised += ids
    steps = _move_through_the_workflow(ctx, raised)
    return {"work_items": len(raised), "by_tool": counts, "steps": steps}


# --- the workflow over the raised items ------------------------------------------------------

def _staff(unit: OrgUnit, *roles: str) -> User | None:
    return db.session.execute(select(User).join(Membership).where(
        Membership.org_unit_id == unit.id, Membership.role.in_(roles), User.active.is_(True))
        .order_by(User.wecom_userid)).scalars().first()


def _act(item_id: int, action: str, user: User | None, **data) -> bool:
    if user is None:
        return False
    item = db.session.get(WorkItem, item_id)
    if action not in workflow.allowed_actions(item, user):
        return False
    workflow.perform(item_id, action, user, {"version": item.version, **data})
    return True


def _handler(item: WorkItem) -> User | None:
    return _staff(item.org_unit, Role.WORKER, Role.OPERATOR) or _staff(item.org_unit, Role.MANAGER)


def _dispatcher(item: WorkItem) -> User | None:
    return _staff(item.dispatch_unit, Role.OPERATOR) or _staff(item.dispatch_unit, Role.MANAGER)


# Every grid's first items: one waiting to be signed, one being handled, one overdue (so a grid worker
# opens a workbench with work in it); the others follow PLAN in turn, so the share of items in each
# state stays about the same as the demo grows.
FIRST_PLANS = ("wait", "sign", "overdue_sign")
PLAN = ("wait", "sign", "feedback", "wait", "sign", "passed", "closed", "returned", "forward", "extend",
        "overdue", "sign", "rejected", "wait", "overdue_sign")


def _move_through_the_workflow(ctx: DemoContext, item_ids: list[int]) -> dict[str, int]:
    done: dict[str, int] = {}
    per_unit: dict[int, int] = {}
    for n, item_id in enumerate(item_ids):
        item = db.session.get(WorkItem, item_id)
        seen = per_unit[item.org_unit_id] = per_unit.get(item.org_unit_id, 0) + 1
        first = item.org_unit.level == OrgLevel.GRID and seen <= len(FIRST_PLANS)
        plan = FIRST_PLANS[seen - 1] if first else PLAN[n % len(PLAN)]
        handler, dispatcher = _handler(item), _dispatcher(item)
        ok = True
        if plan in ("sign", "feedback", "passed", "closed", "rejected", "extend", "overdue_sign"):
            ok = _act(item_id, "sign", handler, note="已电话联系现场负责人，安排人员前往处置")
        if ok and plan in ("feedback", "passed", "closed", "rejected"):
            ok = _act(item_id, "feedback", handler, result="已到现场督促整改，整改完成并拍照留档")
        if ok and plan in ("passed", "closed"):
            ok = _act(item_id, "review_pass", dispatcher)
        if ok and plan == "closed":
            ok = _act(item_id, "visit", dispatcher, satisfaction=ctx.rng.choice(("satisfied", "basic")))
        if ok and plan == "rejected":
            ok = _act(item_id, "review_reject", dispatcher, reason="现场照片不清晰，请补充整改后照片")
        if plan == "returned":
            ok = _act(item_id, "return", handler, reason="该问题不属于本单位职责，请重新派单")
        if plan == "forward":
            ok = _forward_to_another_street(item_id, handler)
        if ok and plan == "extend":
            ok = _act(item_id, "extend", handler, days=3, reason="需协调产权单位，申请延期 3 个工作日")
        if plan in ("overdue", "overdue_sign"):
            ok = _make_overdue(item_id, ctx.now)
        done[plan] = done.get(plan, 0) + (1 if ok else 0)
    return done


def _forward_to_another_street(item_id: int, handler: User | None) -> bool:
    """转派 to a neighbouring street: across units, so a manager's approval is asked for."""
    item = db.session.get(WorkItem, item_id)
    street = item.org_unit.street
    number = int(street.code[2:4]) % 14 + 1 if street is not None else 1  # a department's: to 江宁路街道
    return _act(item_id, "forward", handler, unit=f"JA{number:02d}", reason="问题位于相邻街道辖区，申请转派")


def _make_overdue(item_id: int, now: datetime) -> bool:
    """The item was raised a week ago and nobody finished it in time: supervision marks and escalates it."""
    item = db.session.get(WorkItem, item_id)
    week_ago = now - timedelta(days=7)
    item.created_at = item.stage_started_at = item.last_action_at = week_ago
    item.due_at = now - timedelta(hours=6)
    item.close_due_at = min(item.close_due_at, now - timedelta(hours=2))
    for ev in item.events:
        ev.at = week_ago
    workflow.supervise_item(item, now)
    db.session.commit()
    return item.overdue
