"""Jing'an District as pure data: the org units and demo staff, with no database.

Both `app.services.district.seed()` and the local WeCom simulator's directory are built from
these lists, so the simulator's departments and members always match the seeded district.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

DISTRICT = ("JA", "静安区城市运行管理中心")

# The 14 sub-districts and towns, with how many grids each has (85 in all).
STREETS: list[tuple[str, int]] = [
    ("江宁路街道", 6), ("石门二路街道", 6), ("南京西路街道", 6), ("静安寺街道", 6),
    ("曹家渡街道", 6), ("天目西路街道", 6), ("北站街道", 6), ("宝山路街道", 6),
    ("共和新路街道", 6), ("大宁路街道", 6), ("彭浦新村街道", 6), ("临汾路街道", 6),
    ("芷江西路街道", 6), ("彭浦镇", 7),
]
TOTAL_COMMITTEES = 266

# District departments that work items can be routed to (区职能部门).
DEPARTMENTS: list[tuple[str, str, str]] = [
    ("JA-D-JG", "区建设管理委员会", "construction"),
    ("JA-D-FG", "区房屋管理局", "housing"),
    ("JA-D-FX", "区防汛防台指挥部办公室", "flood"),
    ("JA-D-CG", "区城管执法局", "enforcement"),
    ("JA-D-SJ", "区市场监督管理局", "market"),
    ("JA-D-HJ", "区生态环境局", "environment"),
]

_CHINESE_NUMERALS = "零一二三四五六七八九十"


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    level: str  # an OrgLevel value
    parent_code: str | None
    sort_order: int
    wecom_department_id: int


@dataclass(frozen=True)
class StaffSpec:
    userid: str
    name: str
    unit_code: str
    role: str  # a Role value
    position: str
    mobile: str


def numeral(n: int) -> str:
    if n <= 10:
        return _CHINESE_NUMERALS[n]
    return ("" if n < 20 else _CHINESE_NUMERALS[n // 10]) + "十" + (_CHINESE_NUMERALS[n % 10] if n % 10 else "")


def _committees_per_grid(total_grids: int) -> list[int]:
    base, extra = divmod(TOTAL_COMMITTEES, total_grids)
    return [base + (1 if i < extra else 0) for i in range(total_grids)]


@cache
def units() -> tuple[UnitSpec, ...]:
    """Every org unit, parents before children."""
    out = [UnitSpec(DISTRICT[0], DISTRICT[1], "district", None, 0, 1)]
    for i, (code, name, _) in enumerate(DEPARTMENTS, start=1):
        out.append(UnitSpec(code, name, "department", DISTRICT[0], i, 10 + i))
    grid_sizes = _committees_per_grid(sum(g for _, g in STREETS))
    grid_index = 0
    for si, (street_name, grid_count) in enumerate(STREETS, start=1):
        street_code = f"JA{si:02d}"
        out.append(UnitSpec(street_code, street_name, "street", DISTRICT[0], si, 100 + si))
        short = street_name.removesuffix("街道")
        for gi in range(1, grid_count + 1):
            grid_code = f"{street_code}G{gi:02d}"
            out.append(UnitSpec(grid_code, f"{short}第{numeral(gi)}网格", "grid", street_code, gi,
                                1000 + si * 100 + gi))
            for ci in range(1, grid_sizes[grid_index] + 1):
                out.append(UnitSpec(f"{grid_code}C{ci:02d}", f"{short}第{numeral(gi)}网格第{numeral(ci)}居民区",
                                    "committee", grid_code, ci, 100000 + si * 1000 + gi * 10 + ci))
            grid_index += 1
    return tuple(out)


def _mobile(n: int) -> str:
    return f"139{n:08d}"


@cache
def demo_staff() -> tuple[StaffSpec, ...]:
    """The demo users: one per admin role at the district, managers and operators, grid workers."""
    by_code = {u.code: u for u in units()}
    out: list[StaffSpec] = []

    def add(userid, name, unit_code, role, position):
        out.append(StaffSpec(userid, name, unit_code, role, position, _mobile(len(out) + 1)))

    district = DISTRICT[0]
    add("ja-admin", "王系统", district, "admin", "系统管理员")
    add("ja-secadmin", "李安全", district, "security_admin", "安全管理员")
    add("ja-auditor", "赵审计", district, "audit_admin", "审计管理员")
    add("ja-operator", "陈值班", district, "operator", "区城运中心值班长")
    add("ja-manager", "周主任", district, "manager", "区城运中心主任")
    for code, name, _ in DEPARTMENTS:
        add(f"{code.lower()}-manager", f"{name[1:3]}负责人", code, "manager", "部门负责人")
        add(f"{code.lower()}-operator", f"{name[1:3]}联络员", code, "operator", "部门联络员")
    streets = [u for u in units() if u.level == "street"]
    for street in streets:
        prefix = street.code.lower()
        add(f"{prefix}-manager", f"{street.name[:2]}主任", street.code, "manager", "街镇城运中心主任")
        add(f"{prefix}-operator", f"{street.name[:2]}派单员", street.code, "operator", "街镇城运中心派单员")
    for grid in (u for u in units() if u.level == "grid"):
        add(f"{grid.code.lower()}-worker", f"{grid.name[:2]}网格员{grid.code[-2:]}", grid.code, "worker", "网格员")
    committees = [u for u in units() if u.level == "committee"]
    for committee in committees[::10]:
        add(f"{committee.code.lower()}-worker", f"{committee.name[:2]}社工{committee.code[-2:]}", committee.code,
            "worker", "居委社工")
    assert all(s.unit_code in by_code for s in out)
    return tuple(out)
