"""Jing'an District's 1 + 14 + 85 + 266 structure and demo staff; seed() is idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models.org import OrgLevel, OrgUnit
from app.models.users import Membership, Role, User

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


def _numeral(n: int) -> str:
    if n <= 10:
        return _CHINESE_NUMERALS[n]
    return ("" if n < 20 else _CHINESE_NUMERALS[n // 10]) + "十" + (_CHINESE_NUMERALS[n % 10] if n % 10 else "")


def _committees_per_grid(total_grids: int) -> list[int]:
    base, extra = divmod(TOTAL_COMMITTEES, total_grids)
    return [base + (1 if i < extra else 0) for i in range(total_grids)]


@dataclass
class SeedResult:
    units_created: int = 0
    users_created: int = 0

    def __str__(self) -> str:
        return f"{self.units_created} org units and {self.users_created} users created"


class _Seeder:
    def __init__(self):
        self.result = SeedResult()
        self.units = {u.code: u for u in db.session.execute(select(OrgUnit)).scalars()}
        self.users = {u.wecom_userid: u for u in db.session.execute(select(User)).scalars()}

    def unit(self, code: str, name: str, level: OrgLevel, parent: OrgUnit | None, order: int,
             wecom_department_id: int) -> OrgUnit:
        unit = self.units.get(code)
        if unit is None:
            unit = OrgUnit(code=code, name=name, level=level, parent=parent, sort_order=order,
                           path=OrgUnit.child_path(parent, code), wecom_department_id=wecom_department_id)
            db.session.add(unit)
            self.units[code] = unit
            self.result.units_created += 1
        return unit

    def user(self, userid: str, name: str, unit: OrgUnit, role: Role, position: str, mobile: str) -> User:
        user = self.users.get(userid)
        if user is None:
            user = User(wecom_userid=userid, name=name, mobile=mobile, position=position, active=True)
            user.memberships.append(Membership(org_unit=unit, role=role))
            db.session.add(user)
            self.users[userid] = user
            self.result.users_created += 1
        return user


def _mobile(n: int) -> str:
    return f"139{n:08d}"


def seed(with_demo_users: bool = True) -> SeedResult:
    """Create the district tree (and demo users); running it again changes nothing."""
    s = _Seeder()
    district = s.unit(DISTRICT[0], DISTRICT[1], OrgLevel.DISTRICT, None, 0, wecom_department_id=1)
    for i, (code, name, _) in enumerate(DEPARTMENTS, start=1):
        s.unit(code, name, OrgLevel.DEPARTMENT, district, i, wecom_department_id=10 + i)
    grid_sizes = _committees_per_grid(sum(g for _, g in STREETS))
    grid_index = 0
    streets, grids, committees = [], [], []
    for si, (street_name, grid_count) in enumerate(STREETS, start=1):
        street = s.unit(f"JA{si:02d}", street_name, OrgLevel.STREET, district, si, wecom_department_id=100 + si)
        streets.append(street)
        short = street_name.removesuffix("街道")
        for gi in range(1, grid_count + 1):
            grid = s.unit(f"{street.code}G{gi:02d}", f"{short}第{_numeral(gi)}网格", OrgLevel.GRID, street, gi,
                          wecom_department_id=1000 + si * 100 + gi)
            grids.append(grid)
            for ci in range(1, grid_sizes[grid_index] + 1):
                committees.append(s.unit(
                    f"{grid.code}C{ci:02d}", f"{short}第{_numeral(gi)}网格第{_numeral(ci)}居民区",
                    OrgLevel.COMMITTEE, grid, ci, wecom_department_id=100000 + si * 1000 + gi * 10 + ci))
            grid_index += 1
    db.session.flush()
    if with_demo_users:
        _seed_demo_users(s, district, streets, grids, committees)
    db.session.commit()
    return s.result


def _seed_demo_users(s: _Seeder, district, streets, grids, committees) -> None:
    n = 0

    def add(userid, name, unit, role, position):
        nonlocal n
        n += 1
        s.user(userid, name, unit, role, position, _mobile(n))

    add("ja-admin", "王系统", district, Role.ADMIN, "系统管理员")
    add("ja-secadmin", "李安全", district, Role.SECURITY_ADMIN, "安全管理员")
    add("ja-auditor", "赵审计", district, Role.AUDIT_ADMIN, "审计管理员")
    add("ja-operator", "陈值班", district, Role.OPERATOR, "区城运中心值班长")
    add("ja-manager", "周主任", district, Role.MANAGER, "区城运中心主任")
    for code, name, _ in DEPARTMENTS:
        unit = s.units[code]
        add(f"{code.lower()}-manager", f"{name[1:3]}负责人", unit, Role.MANAGER, "部门负责人")
        add(f"{code.lower()}-operator", f"{name[1:3]}联络员", unit, Role.OPERATOR, "部门联络员")
    for street in streets:
        prefix = street.code.lower()
        add(f"{prefix}-manager", f"{street.name[:2]}主任", street, Role.MANAGER, "街镇城运中心主任")
        add(f"{prefix}-operator", f"{street.name[:2]}派单员", street, Role.OPERATOR, "街镇城运中心派单员")
    for grid in grids:
        add(f"{grid.code.lower()}-worker", f"{grid.name[:2]}网格员{grid.code[-2:]}", grid, Role.WORKER, "网格员")
    for committee in committees[::10]:
        add(f"{committee.code.lower()}-worker", f"{committee.name[:2]}社工{committee.code[-2:]}", committee,
            Role.WORKER, "居委社工")
