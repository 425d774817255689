"""Directory sync: pull WeCom's departments and members and map them onto our org units.

    flask toolbox sync-directory [--dry-run]      or      sync_directory_job.delay()

Departments map to org units through `OrgUnit.wecom_department_id` (the stored mapping). A WeCom
department without a mapping is matched once by name under its mapped parent and the mapping is
stored; otherwise it is reported as unmapped. Members: new ones are added with the default role
(WECOM_SYNC_DEFAULT_ROLE, "worker") at their main department's unit; known ones get their name,
mobile and position updated (their roles are the security admin's business and are left alone);
members WeCom reports disabled or exited, and known users missing from WeCom whose units are all
inside the synced departments, are disabled. Nobody is deleted. Running it twice changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.jobs import job
from app.models.org import OrgUnit
from app.models.users import User
from app.services import audit
from app.services.directory import PersonSpec, RosterPlan, apply_plan, plan_roster
from app.wecom.client import WeComError, get_client

log = logging.getLogger(__name__)

ACTIVE_STATUSES = {1, 4}  # 1 activated, 4 not yet activated; 2 disabled, 5 exited


@dataclass
class SyncReport:
    plan: RosterPlan
    departments: int = 0
    mapped_now: list[dict] = field(default_factory=list)
    unmapped: list[dict] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict:
        return {**self.plan.to_dict(), "departments": self.departments, "mapped_now": self.mapped_now,
                "unmapped_departments": self.unmapped, "unplaced_users": self.unplaced, "dry_run": self.dry_run}

    def __str__(self) -> str:
        s = self.plan.summary()
        return (f"{self.departments} departments ({len(self.mapped_now)} newly mapped, {len(self.unmapped)} "
                f"unmapped); users: {s['created']} created, {s['updated']} updated, {s['disabled']} disabled, "
                f"{s['unchanged']} unchanged, {len(self.unplaced)} without a mapped department"
                + (" [dry run: nothing written]" if self.dry_run else ""))


def _map_departments(departments: list[dict], report: SyncReport) -> dict[int, OrgUnit]:
    by_dept = {u.wecom_department_id: u for u in db.session.execute(
        select(OrgUnit).where(OrgUnit.wecom_department_id.is_not(None))).scalars()}
    pending = sorted(departments, key=lambda d: (d.get("parentid", 0), d["id"]))
    progress = True
    while progress:  # parents first, however WeCom orders the list
        progress = False
        for dept in list(pending):
            if dept["id"] in by_dept:
                pending.remove(dept)
                progress = True
                continue
            parent = by_dept.get(dept.get("parentid"))
            if parent is None:
                continue
            candidates = [c for c in parent.children if c.name == dept["name"] and c.wecom_department_id is None]
            if len(candidates) == 1:
                unit = candidates[0]
                if not report.dry_run:
                    unit.wecom_department_id = dept["id"]
                by_dept[dept["id"]] = unit
                report.mapped_now.append({"department_id": dept["id"], "name": dept["name"], "unit": unit.code})
                pending.remove(dept)
                progress = True
    report.unmapped = [{"department_id": d["id"], "name": d["name"], "parentid": d.get("parentid")}
                       for d in pending]
    return by_dept


def sync_directory(*, dry_run: bool = False, actor=None, disable_imported: bool = False) -> SyncReport:
    """Pull WeCom's directory and bring our users in line with it (see the module docstring).

    People who came from a spreadsheet import (User.origin == "import") and are missing from WeCom are
    kept unless disable_imported: an import is often exactly the staff WeCom does not list yet."""
    client = get_client()
    departments = client.list_departments()
    report = SyncReport(plan=RosterPlan(), departments=len(departments), dry_run=dry_run)
    by_dept = _map_departments(departments, report)
    roots = {d["id"] for d in departments if d.get("parentid") not in {x["id"] for x in departments}}
    members: dict[str, dict] = {}
    for root in sorted(roots):
        for member in client.list_users(root, fetch_child=True):
            members[member["userid"]] = member
    default_role = current_app.config.get("WECOM_SYNC_DEFAULT_ROLE", "worker")
    if default_role not in ("worker", "operator", "manager"):
        raise ValueError("WECOM_SYNC_DEFAULT_ROLE must be worker, operator or manager: admin roles are only "
                         "granted by the security admin")
    known = {u.wecom_userid for u in db.session.execute(select(User)).scalars()}
    people: list[PersonSpec] = []
    for userid, m in sorted(members.items()):
        active = int(m.get("status", 1)) in ACTIVE_STATUSES and int(m.get("enable", 1)) != 0
        units = [by_dept[d] for d in [m.get("main_department"), *m.get("department", [])] if d in by_dept]
        memberships = None
        if userid not in known:
            if not units:
                report.unplaced.append(userid)
                continue
            memberships = {(units[0].code, default_role)}
        people.append(PersonSpec(userid=userid, name=m.get("name") or userid, mobile=m.get("mobile") or None,
                                 position=m.get("position") or None, memberships=memberships, active=active))
    visible_unit_ids = {by_dept[d["id"]].id for d in departments if d["id"] in by_dept}

    kept_imported: list[str] = []

    def departed(user: User) -> bool:
        covered = bool(user.memberships) and all(m.org_unit_id in visible_unit_ids for m in user.memberships)
        if covered and user.origin == "import" and not disable_imported:
            kept_imported.append(user.wecom_userid)
            return False
        return covered

    report.plan = plan_roster(people, departed=departed)
    if kept_imported:
        report.plan.notes.append(f"{len(kept_imported)} people from a spreadsheet import are not in WeCom and were "
                                 "kept (disable_imported to disable them): " + ", ".join(sorted(kept_imported)))
    detail = {"dry_run": dry_run, **report.plan.summary(), "departments": report.departments,
              "mapped_now": len(report.mapped_now), "unmapped": len(report.unmapped),
              "unplaced": len(report.unplaced), "disable_imported": disable_imported,
              "kept_imported": len(kept_imported)}
    if dry_run:
        db.session.rollback()
        audit.record("directory.sync", outcome="dry_run", detail=detail, actor=actor)
        db.session.commit()
        return report
    for mapping in report.mapped_now:
        audit.record("directory.department.map", target_type="org_unit", target_id=mapping["unit"],
                     detail=mapping, actor=actor)
    apply_plan(report.plan, people, source="wecom", actor=actor)
    audit.record("directory.sync", detail=detail, actor=actor)
    db.session.commit()
    return report


def sync_directory_or_audit_failure(*, dry_run: bool = False, actor=None, disable_imported: bool = False
                                    ) -> SyncReport:
    """sync_directory, with a WeCom failure audited (errcode and errmsg kept) before it is raised."""
    try:
        return sync_directory(dry_run=dry_run, actor=actor, disable_imported=disable_imported)
    except WeComError as err:
        db.session.rollback()
        audit.record("directory.sync", outcome="failed", detail={"dry_run": dry_run, **err.to_detail()}, actor=actor)
        db.session.commit()
        log.error("directory sync failed: %s", err)
        raise


@job("default", timeout=1800)
def sync_directory_job(dry_run: bool = False, disable_imported: bool = False) -> dict:
    """The RQ job behind the nightly/admin-triggered sync."""
    return sync_directory_or_audit_failure(dry_run=dry_run, actor="wecom-sync",
                                           disable_imported=disable_imported).to_dict()
