"""Rules for small construction sites: registration, inspections, problems, closing. No request objects here.

Every function that changes data adds to the session and leaves the commit to the caller, so a
site, its Jing'an code, its inspection and the work items they raise land in one transaction. A
problem is open while its work item is: the workflow says so (models.open_problems_at).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import false, or_, select
from sqlalchemy.sql import Select

from app import toolkit as tk
from toolbox.construction_sites.models import (
    CHECKLIST,
    Inspection,
    InspectionItem,
    Site,
    SiteStatus,
    open_problems_at,
)

DEFAULT_INSPECTION_INTERVAL_DAYS = 14
DEFAULT_ENDING_SOON_DAYS = 7


def _may_read_inspection(user, record: Inspection | InspectionItem) -> bool:
    """An inspection and its lines are read by whoever may read the site now."""
    return tk.in_scope(user, tk.db.session.get(Site, record.site_id).org_path)


tk.holds_photos(Inspection, may_read=_may_read_inspection)
tk.holds_photos(InspectionItem, may_read=_may_read_inspection)


def inspection_interval_days() -> int:
    return int(current_app.config.get("CONSTRUCTION_SITES_INSPECTION_DAYS", DEFAULT_INSPECTION_INTERVAL_DAYS))


def today() -> date:
    return tk.utcnow().date()


# --- sites ---------------------------------------------------------------------------------------

def register_site(data: dict, unit: tk.OrgUnit, actor) -> Site:
    """Register a site in unit and give it a Jing'an code (caller commits)."""
    site = Site(created_by_id=actor.id, status=SiteStatus.ACTIVE, **data)
    _check_night_work(site)
    return tk.register_record(site, unit, actor, permit_number=site.permit_number)


def update_site(site: Site, data: dict, actor) -> Site:
    """Change a site's registered details; a closed site is read-only."""
    if site.status == SiteStatus.CLOSED:
        raise tk.ApiError(409, "site_closed", "工地已关闭，不能修改", "The site is closed")
    tk.update_record(site, data, actor)
    if site.end_date < site.start_date:
        raise tk.ApiError(422, fields={"end_date": ["结束日期不能早于开工日期"]})
    _check_night_work(site)
    return site


def _check_night_work(site: Site) -> None:
    if site.night_work_permitted and not site.night_work_permit_number:
        raise tk.ApiError(422, fields={"night_work_permit_number": ["允许夜间施工时须填写夜间施工许可证号"]})
    if not site.night_work_permitted:
        site.night_work_permit_number = None


def close_site(site: Site, reason: str, actor) -> Site:
    """Close a finished or abandoned site; its history stays readable."""
    if site.status == SiteStatus.CLOSED:
        raise tk.ApiError(409, "site_closed", "工地已关闭", "The site is already closed")
    site.status = SiteStatus.CLOSED
    site.closed_at = tk.utcnow()
    site.closed_by_id = actor.id
    site.close_reason = reason
    tk.audit.record("construction_sites.site.close", target_type="construction_sites_site", target_id=site.id,
                    detail={"reason": reason}, actor=actor)
    tk.index_record(site)
    return site


def view_contacts(site: Site, actor) -> dict:
    """Unmasked contact numbers: a personal-data view, so it is audited."""
    tk.audit.record("construction_sites.site.view_contacts", target_type="construction_sites_site",
                    target_id=site.id, actor=actor)
    return {"owner_contact": site.owner_contact, "owner_phone": site.owner_phone,
            "contractor_contact": site.contractor_contact, "contractor_phone": site.contractor_phone}


# --- inspections --------------------------------------------------------------------------------

def inspect(site: Site, items: list[dict], actor, remarks: str = "", photo_ids: Iterable[int] = (),
            inspected_at: datetime | None = None) -> Inspection:
    """Record an inspection of the whole checklist; each failed line becomes a work item (caller commits)."""
    if site.status == SiteStatus.CLOSED:
        raise tk.ApiError(409, "site_closed", "工地已关闭，不能再检查", "The site is closed")
    tk.check_every_item_once(items, CHECKLIST, noun="检查项", code="checklist_incomplete",
                             zh="检查清单须逐项填写且每项一次", en="Every checklist item must be answered exactly once")
    tk.require_notes(items, lambda line: not line["passed"], "不合格项须填写问题说明")
    at = inspected_at or tk.utcnow()
    inspection = Inspection(site=site, site_id=site.id, inspector_id=actor.id, inspected_at=at,
                            remarks=remarks, photo_ids=tk.bind_photos(photo_ids, actor),
                            result="pass" if all(i["passed"] for i in items) else "fail")
    by_code = {i["item"]: i for i in items}
    for code in CHECKLIST:  # checklist order
        line = by_code[code]
        inspection.items.append(InspectionItem(
            site_id=site.id, item=code, passed=line["passed"], note=line.get("note") or "",
            photo_ids=tk.bind_photos(line.get("photo_ids") or (), actor)))
    tk.db.session.add(inspection)
    if site.last_inspected_at is None or site.last_inspected_at < at:
        site.last_inspected_at = at
    tk.db.session.flush()
    for line in inspection.items:
        if not line.passed:
            _raise_work_item(site, inspection, line, actor)
    tk.audit.record("construction_sites.inspection.create", target_type="construction_sites_site",
                    target_id=site.id, actor=actor,
                    detail={"inspection_id": inspection.id, "result": inspection.result,
                            "failed": [i.item for i in inspection.items if not i.passed]})
    tk.index_record(site)
    tk.index_record(inspection)
    return inspection


def _raise_work_item(site: Site, inspection: Inspection, line: InspectionItem, actor) -> None:
    item = tk.raise_work_item(
        line, category=f"site_{line.item}", org_unit=site.org_unit, title=f"{site.name}：{CHECKLIST[line.item]}不合格",
        description=(f"工地「{site.name}」（许可证号 {site.permit_number or '无'}，施工单位 {site.contractor_name}）"
                     f"{inspection.inspected_at:%Y-%m-%d} 检查发现：{CHECKLIST[line.item]}不合格。{line.note}"),
        address=site.address, lat=site.lat, lng=site.lng, photo_ids=list(dict.fromkeys([
            *line.photo_ids, *inspection.photo_ids])), reporter_user=actor, actor=actor)
    line.work_item_id, line.work_item_number = item.id, item.number


def on_work_item_changed(sender, *, source_type=None, source_id=None, **_ignored) -> None:
    """A problem's work item changed (closed, reopened): one-click query shows whether the site has open ones."""
    line = tk.db.session.get(InspectionItem, int(source_id)) if source_type == "inspection_item" else None
    site = tk.db.session.get(Site, line.site_id) if line is not None else None
    if site is not None:
        tk.index_record(site)


# --- lists --------------------------------------------------------------------------------------

def sites_query(view: str | None = None, days: int | None = None, status: str | None = None,
                q: str | None = None) -> Select:
    """Sites, optionally only one working list: ending_soon, overdue_inspection, open_problems."""
    stmt = select(Site)
    if status:
        stmt = stmt.where(Site.status == status)
    if q:
        stmt = stmt.where(tk.text_matches(q, Site.name, Site.address, Site.permit_number, Site.contractor_name))
    now = today()
    if view == "ending_soon":
        horizon = now + timedelta(days=days if days is not None else DEFAULT_ENDING_SOON_DAYS)
        stmt = stmt.where(Site.status == SiteStatus.ACTIVE, Site.end_date >= now, Site.end_date <= horizon)
        return stmt.order_by(Site.end_date, Site.id)
    if view == "overdue_inspection":
        interval = days if days is not None else inspection_interval_days()
        cutoff = tk.utcnow() - timedelta(days=interval)
        stmt = stmt.where(Site.status == SiteStatus.ACTIVE, Site.start_date <= now - timedelta(days=interval),
                          or_(Site.last_inspected_at.is_(None), Site.last_inspected_at < cutoff))
        return stmt.order_by(Site.last_inspected_at.asc().nulls_first(), Site.id)
    if view == "open_problems":
        stmt = stmt.where(open_problems_at(Site.id).exists())
    elif view is not None:
        stmt = stmt.where(false())
    return stmt.order_by(Site.created_at.desc(), Site.id.desc())


def inspections_of(site: Site) -> Select:
    return select(Inspection).where(Inspection.site_id == site.id).order_by(
        Inspection.inspected_at.desc(), Inspection.id.desc())


def open_problems(site: Site) -> list[InspectionItem]:
    return list(tk.db.session.execute(open_problems_at(site.id).order_by(InspectionItem.id)).scalars())


def overdue_sites_by_street() -> dict[int, list[Site]]:
    """Active sites overdue for inspection, grouped by the id of their street (for reminders)."""
    result: dict[int, list[Site]] = {}
    for site in tk.db.session.execute(sites_query("overdue_inspection")).unique().scalars():
        street = site.org_unit.street
        if street is not None:
            result.setdefault(street.id, []).append(site)
    return result


# --- one-click query ------------------------------------------------------------------------------

def search_documents() -> Iterator[tk.SearchableRecord]:
    """Every site and inspection, for a full reindex of one-click query."""
    with_problems = set(tk.db.session.execute(
        select(InspectionItem.site_id).where(tk.has_open_work_item(InspectionItem)).distinct()).scalars())
    for site in tk.db.session.execute(select(Site).order_by(Site.id)).unique().scalars():
        yield site.search_record(site.id in with_problems)
    for inspection in tk.db.session.execute(select(Inspection).order_by(Inspection.id)).unique().scalars():
        yield inspection.search_record()
