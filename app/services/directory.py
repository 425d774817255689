"""The staff roster: one engine that adds, updates and disables users (never deletes them).

Two ways in use it: the WeCom directory sync (`app.wecom.directory`) and the security admin's
spreadsheet import (`import_roster`, CSV or XLSX with the columns userid, name, mobile, unit code,
role). Both compute a plan first (what would change), so a dry run shows exactly what a real run
does; a real run applies it in one transaction with an audit row per changed user and a summary.

三员分立: nobody may hold two of admin, security_admin and audit_admin; `check_role_separation`
is applied wherever roles are granted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import SEPARATED_ADMIN_ROLES, Membership, Role, User
from app.services import audit
from app.services.scope import ensure_in_admin_scope, in_admin_scope


def separated_roles_held(roles: Iterable[str]) -> set[str]:
    return {str(r) for r in roles} & {str(r) for r in SEPARATED_ADMIN_ROLES}


def check_role_separation(roles: Iterable[str]) -> None:
    """Refuse (422) a role set holding two or more of the three separated admin roles."""
    held = separated_roles_held(roles)
    if len(held) > 1:
        raise ApiError(422, "separated_roles", "三员分立：同一人不得同时担任系统管理员、安全管理员、审计管理员中的两个",
                       "Separation of duties: one person may not hold two of admin, security_admin and "
                       "audit_admin", roles=sorted(held))


@dataclass
class PersonSpec:
    """What the source says about one person. memberships None: leave their roles alone."""

    userid: str
    name: str
    mobile: str | None = None
    position: str | None = None
    memberships: set[tuple[str, str]] | None = None  # {(unit code, role)}
    active: bool = True
    rows: list[int] = field(default_factory=list)  # spreadsheet rows, for messages


@dataclass
class Change:
    userid: str
    action: str  # create | update | disable
    changes: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"userid": self.userid, "action": self.action, "changes": self.changes}


@dataclass
class RosterPlan:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kept_admins: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> dict:
        return {"created": self.count("create"), "updated": self.count("update"),
                "disabled": self.count("disable"), "unchanged": self.unchanged, "errors": len(self.errors)}

    def to_dict(self) -> dict:
        return {**self.summary(), "changes": [c.to_dict() for c in self.changes], "row_errors": self.errors,
                "notes": self.notes}


def _membership_set(user: User) -> set[tuple[str, str]]:
    return {(m.org_unit.code, str(m.role)) for m in user.memberships}


def plan_roster(people: list[PersonSpec], *, departed: Callable[[User], bool]) -> RosterPlan:
    """Compare the source with our users. departed(user) says whether a user absent from the source
    should be disabled (the source covers them)."""
    plan = RosterPlan()
    users = {u.wecom_userid: u for u in db.session.execute(select(User)).scalars()}
    seen = set()
    for spec in people:
        seen.add(spec.userid)
        user = users.get(spec.userid)
        if user is None:
            if not spec.active:
                continue  # a departed person we never knew
            plan.changes.append(Change(spec.userid, "create", {
                "name": spec.name, "mobile": _masked(spec.mobile), "position": spec.position,
                "memberships": sorted(f"{u}:{r}" for u, r in (spec.memberships or set())), "active": True}))
            continue
        diff: dict = {}
        if spec.name and user.name != spec.name:
            diff["name"] = [user.name, spec.name]
        if spec.mobile and user.mobile != spec.mobile:
            diff["mobile"] = [_masked(user.mobile), _masked(spec.mobile)]
        if spec.position is not None and spec.position != (user.position or ""):
            diff["position"] = [user.position, spec.position]
        if spec.memberships is not None:
            current = _membership_set(user)
            if current != spec.memberships:
                diff["memberships"] = {"added": sorted(f"{u}:{r}" for u, r in spec.memberships - current),
                                       "removed": sorted(f"{u}:{r}" for u, r in current - spec.memberships)}
        if user.active != spec.active:
            diff["active"] = [user.active, spec.active]
        if diff:
            plan.changes.append(Change(spec.userid, "disable" if diff.keys() == {"active"} and not spec.active
                                       else "update", diff))
        else:
            plan.unchanged += 1
    for userid, user in users.items():
        if userid not in seen and user.active and departed(user):
            if separated_roles_held(m.role for m in user.memberships):
                plan.kept_admins.append(userid)  # missing from a source never disables the three admins
                continue
            plan.changes.append(Change(userid, "disable", {"active": [True, False]}))
    if plan.kept_admins:
        plan.notes.append("holders of admin, security_admin or audit_admin missing from the source are kept active: "
                          + ", ".join(sorted(plan.kept_admins)))
    return plan


def apply_plan(plan: RosterPlan, people: list[PersonSpec], *, source: str, actor=None) -> None:
    """Write the plan (caller commits): create, update, disable, each audited. Created users remember
    their source (User.origin: "wecom" or "import")."""
    specs = {p.userid: p for p in people}
    units = {u.code: u for u in db.session.execute(select(OrgUnit)).scalars()}
    users = {u.wecom_userid: u for u in db.session.execute(select(User)).scalars()}
    for change in plan.changes:
        spec = specs.get(change.userid)
        user = users.get(change.userid)
        if change.action == "create":
            user = User(wecom_userid=spec.userid, name=spec.name, mobile=spec.mobile, position=spec.position,
                        active=True, origin=source)
            for unit_code, role in sorted(spec.memberships or set()):
                user.memberships.append(Membership(org_unit=units[unit_code], role=role))
            db.session.add(user)
        elif change.action == "disable" and spec is None:
            user.active = False
        else:
            if "name" in change.changes:
                user.name = spec.name
            if "mobile" in change.changes:
                user.mobile = spec.mobile
            if "position" in change.changes:
                user.position = spec.position
            if "active" in change.changes:
                user.active = spec.active
            if "memberships" in change.changes:
                wanted = spec.memberships or set()
                for m in list(user.memberships):
                    if (m.org_unit.code, str(m.role)) not in wanted:
                        user.memberships.remove(m)
                have = _membership_set(user)
                for unit_code, role in sorted(wanted - have):
                    user.memberships.append(Membership(org_unit=units[unit_code], role=role))
        check_role_separation(user.roles)
        db.session.flush()
        audit.record(f"directory.user.{change.action}", target_type="user", target_id=user.id,
                     detail={"userid": change.userid, "source": source, "changes": change.changes}, actor=actor)


def _masked(mobile: str | None) -> str | None:
    from app.services.crypto import mask_mobile
    return mask_mobile(mobile)


# --- spreadsheet import ------------------------------------------------------------------------

ROLE_ALIASES = {
    "网格员": Role.WORKER, "巡查员": Role.WORKER, "社工": Role.WORKER, "工作人员": Role.WORKER,
    "值班员": Role.OPERATOR, "派单员": Role.OPERATOR, "联络员": Role.OPERATOR,
    "负责人": Role.MANAGER, "主任": Role.MANAGER,
    "系统管理员": Role.ADMIN, "安全管理员": Role.SECURITY_ADMIN, "审计管理员": Role.AUDIT_ADMIN,
}
COLUMN_ALIASES = {
    "userid": "userid", "user_id": "userid", "账号": "userid", "企业微信账号": "userid", "用户id": "userid",
    "name": "name", "姓名": "name",
    "mobile": "mobile", "phone": "mobile", "手机": "mobile", "手机号": "mobile", "手机号码": "mobile",
    "unit code": "unit_code", "unit_code": "unit_code", "unitcode": "unit_code", "unit": "unit_code",
    "单位编码": "unit_code", "单位代码": "unit_code", "组织编码": "unit_code",
    "role": "role", "角色": "role",
    "position": "position", "职务": "position",
}
REQUIRED_COLUMNS = ("userid", "name", "mobile", "unit_code", "role")
_USERID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_MOBILE = re.compile(r"^1\d{10}$")
MAX_ROWS = 20000


class ImportFileError(ApiError):
    def __init__(self, message_zh: str, message_en: str, **details):
        super().__init__(422, "invalid_import_file", message_zh, message_en, **details)


def read_rows(filename: str, data: bytes) -> list[tuple[int, dict]]:
    """(spreadsheet row number, {column: text}) for each non-empty data row; row 1 is the header."""
    lower = (filename or "").lower()
    if lower.endswith(".xlsx") or data[:2] == b"PK":
        raw_rows = _xlsx_rows(data)
    elif lower.endswith((".csv", ".txt")) or not lower:
        raw_rows = _csv_rows(data)
    else:
        raise ImportFileError("仅支持 CSV 或 XLSX 文件", "Only CSV and XLSX files are accepted")
    if not raw_rows:
        raise ImportFileError("文件为空", "The file is empty")
    header = [COLUMN_ALIASES.get(_cell(h).strip().lower(), _cell(h).strip().lower()) for h in raw_rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError("缺少必需的列：" + ", ".join(missing), "Missing required columns: " + ", ".join(missing),
                              row_errors=[{"row": 1, "errors": {c: "missing column" for c in missing}}])
    if len(raw_rows) - 1 > MAX_ROWS:
        raise ImportFileError(f"行数超过上限 {MAX_ROWS}", f"More than {MAX_ROWS} rows")
    rows = []
    for number, values in enumerate(raw_rows[1:], start=2):
        cells = {header[i]: _cell(v).strip() for i, v in enumerate(values) if i < len(header)}
        if any(cells.values()):
            rows.append((number, cells))
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores mobile numbers as numbers
    return str(value)


def _csv_rows(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("无法识别文件编码", "The CSV file is neither UTF-8 nor GB18030")
    return list(csv.reader(io.StringIO(text)))


def _xlsx_rows(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the client's problem
        raise ImportFileError("无法读取 XLSX 文件", "The XLSX file cannot be read") from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def parse_roster(rows: list[tuple[int, dict]], *, actor: User | None) -> tuple[list[PersonSpec], list[dict]]:
    """Validate rows into people (a person may span rows, one membership each); row-numbered errors."""
    units = {u.code: u for u in db.session.execute(select(OrgUnit)).scalars()}
    people: dict[str, PersonSpec] = {}
    errors: list[dict] = []
    for number, cells in rows:
        problems: dict[str, str] = {}
        userid = cells.get("userid", "")
        if not _USERID.match(userid):
            problems["userid"] = "必填，仅限字母、数字及 _ . @ - (required: letters, digits, _ . @ -)"
        name = cells.get("name", "")
        if not name or len(name) > 64:
            problems["name"] = "必填，最多 64 字 (required, at most 64 characters)"
        mobile = re.sub(r"[\s-]", "", cells.get("mobile", "")).removeprefix("+86")
        if mobile and not _MOBILE.match(mobile):
            problems["mobile"] = "应为 11 位手机号 (an 11-digit mainland mobile number)"
        unit = units.get(cells.get("unit_code", ""))
        if unit is None:
            problems["unit_code"] = f"单位编码不存在 (no org unit {cells.get('unit_code', '')!r})"
        elif actor is not None and not in_admin_scope(actor, unit.path, Role.SECURITY_ADMIN):
            problems["unit_code"] = "不在您的管理范围内 (outside your data scope)"
        raw_role = cells.get("role", "")
        role = ROLE_ALIASES.get(raw_role) or (raw_role.lower() if raw_role.lower() in {r.value for r in Role} else None)
        if role is None:
            problems["role"] = f"角色无效 (unknown role {raw_role!r}; one of {', '.join(r.value for r in Role)})"
        position = cells.get("position") or None
        if not problems:
            person = people.get(userid)
            if person is None:
                people[userid] = PersonSpec(userid, name, mobile or None, position, {(unit.code, str(role))},
                                            rows=[number])
            elif person.name != name or (mobile and person.mobile and person.mobile != mobile):
                problems["name"] = f"与第 {person.rows[0]} 行的同一账号信息不一致 (differs from row {person.rows[0]})"
            else:
                person.memberships.add((unit.code, str(role)))
                person.mobile = person.mobile or mobile or None
                person.rows.append(number)
        if problems:
            errors.append({"row": number, "userid": userid or None, "errors": problems})
    for person in people.values():
        held = separated_roles_held(r for _, r in person.memberships)
        if len(held) > 1:
            errors.append({"row": person.rows[-1], "userid": person.userid, "errors": {
                "role": "三员分立：不得同时担任 " + "、".join(sorted(held)) + " (separation of duties)"}})
    errors.sort(key=lambda e: e["row"])
    return list(people.values()), errors


def import_roster(filename: str, data: bytes, *, actor: User | None, dry_run: bool, scope_code: str | None = None,
                  disable_missing: bool = False) -> RosterPlan:
    """Import a staff spreadsheet: add and update the people in it, and keep everyone else.

    Only with disable_missing and an explicit scope_code are users absent from the file disabled, and only
    those whose roles all lie in that unit's subtree; never the importing person, never a holder of the
    three admin roles. Any bad row fails the whole import (nothing changes) with row-numbered errors."""
    if disable_missing and not scope_code:
        raise ApiError(422, "scope_required", "停用名单外人员时须指定范围单位（scope）",
                       "disable_missing needs an explicit scope: the unit whose subtree the file covers",
                       fields={"scope": ["必填 Required with disable_missing."]})
    scope = None
    if scope_code:
        scope = db.session.execute(select(OrgUnit).where(OrgUnit.code == scope_code)).scalar_one_or_none()
        if scope is None:
            raise ApiError(422, "org_unit_not_found", "范围单位不存在", f"No org unit {scope_code!r}")
        if actor is not None:
            ensure_in_admin_scope(actor, scope.path, Role.SECURITY_ADMIN)
    people, errors = parse_roster(read_rows(filename, data), actor=actor)

    def departed(user: User) -> bool:
        if scope is None or not disable_missing or (actor is not None and user.id == actor.id) \
                or not user.memberships:
            return False
        return all(m.org_unit.path.startswith(scope.path) for m in user.memberships)

    plan = plan_roster(people, departed=departed)
    plan.errors = errors
    if actor is not None and disable_missing:
        plan.notes.append("the importing user is never disabled by their own import")
    source = "import"
    detail = {"file": filename, "dry_run": dry_run, "scope": scope.code if scope else None,
              "disable_missing": disable_missing,
              **plan.summary()}
    if errors:
        db.session.rollback()
        audit.record("directory.import", outcome="rejected" if not dry_run else "dry_run", detail=detail,
                     actor=actor)
        db.session.commit()
        return plan
    if dry_run:
        audit.record("directory.import", outcome="dry_run", detail=detail, actor=actor)
        db.session.commit()
        return plan
    apply_plan(plan, people, source=source, actor=actor)
    audit.record("directory.import", detail=detail, actor=actor)
    db.session.commit()
    return plan
