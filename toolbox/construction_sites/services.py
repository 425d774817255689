"""Rules for small construction sites: registration, inspections, problems, closing. No request objects here.

Every function that changes data adds to the session and leaves the commit to the caller, so a
site, its Jing'an code, its inspection and the work items they raise land in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import exists, false, or_, select
from sqlalchemy.sql import Select

from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.org import OrgUnit
from app.services import audit
from app.services.attachments import holds_photos
from app.services.photos import bind_photos
from app.services.scope import in_scope
from app.signals import SearchableRecord, searchable_saved
from toolbox.construction_sites.models import CHECKLIST, WORK_KINDS, Inspection, InspectionItem, Site, SiteStatus

CODE = "construction_sites"
DEFAULT_INSPECTION_INTERVAL_DAYS = 14
DEFAULT_ENDING_SOON_DAYS = 7
# Work-item states after which a site problem no longer counts as open.
FINISHED_WORK_ITEM_STATES = frozenset({"closed", "cancelled"})


def _may_read_inspection(user, record: Inspection | InspectionItem) -> bool:
    """An inspection and its lines are read by whoever may read the site now."""
    return in_scope(user, db.session.get(Site, record.site_id).org_path)


holds_photos(Inspection, may_read=_may_read_inspection)
holds_photos(InspectionItem, may_read=_may_read_inspection)


def inspection_interval_days() -> int:
    return int(current_app.config.get("CONSTRUCTION_SITES_INSPECTION_DAYS", DEFAULT_INSPECTION_INTERVAL_DAYS))


def today() -> date:
    return utcnow().date()


# --- sites ---------------------------------------------------------------------------------------

def register_site(data: dict, unit: OrgUnit, actor) -> Site:
    """Register a site in unit and give it a Jing'an code (caller commits)."""
    from app.services.places import create_place

    site = Site(org_unit=unit, org_unit_id=unit.id, org_path=unit.path, created_by_id=actor.id,
                status=SiteStatus.ACTIVE, **data)
    _check_night_work(site)
    db.session.add(site)
    db.session.flush()
    place = create_place(name=site.name, kind="construction_site", org_unit=unit, address=site.address,
                         lat=site.lat, lng=site.lng, ref_tool=CODE, ref_type="site", ref_id=site.id)
    site.place_code = place.code
    audit.record("construction_sites.site.create", target_type="construction_site", target_id=site.id,
                 detail={"org_unit": unit.code, "permit_number": site.permit_number}, actor=actor)
    announce(site)
    return site


def update_site(site: Site, data: dict, actor) -> Site:
    """Change a site's registered details; a closed site is read-only."""
    if site.status == SiteStatus.CLOSED:
        raise ApiError(409, "site_closed", "工地已关闭，不能修改", "The site is closed")
    for key, value in data.items():
        setattr(site, key, value)
    if site.end_date < site.start_date:
        raise ApiError(422, fields={"end_date": ["结束日期不能早于开工日期"]})
    _check_night_work(site)
    audit.record("construction_sites.site.update", target_type="construction_site", target_id=site.id,
                 detail={"fields": sorted(data)}, actor=actor)
    announce(site)
    return site


def _check_night_work(site: Site) -> None:
    if site.night_work_permitted and not site.night_work_permit_number:
        raise ApiError(422, fields={"night_work_permit_number": ["允许夜间施工时须填写夜间施工许可证号"]})
    if not site.night_work_permitted:
        site.night_work_permit_number = None


def close_site(site: Site, reason: str, actor) -> Site:
    """Close a finished or abandoned site; its history stays readable."""
    if site.status == SiteStatus.CLOSED:
        raise ApiError(409, "site_closed", "工地已关闭", "The site is already closed")
    site.status = SiteStatus.CLOSED
    site.closed_at = utcnow()
    site.closed_by_id = actor.id
    site.close_reason = reason
    audit.record("construction_sites.site.close", target_type="construction_site", target_id=site.id,
                 detail={"reason": reason}, actor=actor)
    announce(site)
    return site


def view_contacts(site: Site, actor) -> dict:
    """Unmasked contact numbers: a personal-data view, so it is audited."""
    audit.record("construction_sites.site.view_contacts", target_type="construction_site", target_id=site.id,
                 actor=actor)
    return {"owner_contact": site.owner_contact, "owner_phone": site.owner_phone,
            "contractor_contact": site.contractor_contact, "contractor_phone": site.contractor_phone}


# --- inspections --------------------------------------------------------------------------------

def inspect(site: Site, items: list[dict], actor, remarks: str = "", photo_ids: Iterable[int] = (),
            inspected_at: datetime | None = None) -> Inspection:
    """Record an inspection of the whole checklist; each failed line becomes a work item (caller commits)."""
    if site.status == SiteStatus.CLOSED:
        raise ApiError(409, "site_closed", "工地已关闭，不能再检查", "The site is closed")
    codes = [i["item"] for i in items]
    missing = [c for c in CHECKLIST if c not in codes]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if missing or repeated:
        problems = {}
        if missing:
            problems["missing"] = [f"缺少检查项：{CHECKLIST[c]}" for c in missing]
        if repeated:
            problems["repeated"] = [f"检查项重复：{CHECKLIST[c]}" for c in repeated]
        raise ApiError(422, "checklist_incomplete", "检查清单须逐项填写且每项一次",
                       "Every checklist item must be answered exactly once", fields={"items": problems})
    for line in items:
        if not line["passed"] and not (line.get("note") or "").strip():
            raise ApiError(422, fields={"items": {line["item"]: ["不合格项须填写问题说明"]}})
    at = inspected_at or utcnow()
    inspection = Inspection(site=site, site_id=site.id, inspector_id=actor.id, inspected_at=at,
                            remarks=remarks, photo_ids=bind_photos(photo_ids, actor),
                            result="pass" if all(i["passed"] for i in items) else "fail")
    db.session.add(inspection)  # before a line's photos are looked up (an autoflush must see it)
    by_code = {i["item"]: i for i in items}
    for code in CHECKLIST:  # checklist order
        line = by_code[code]
        inspection.items.append(InspectionItem(
            site_id=site.id, item=code, passed=line["passed"], note=line.get("note") or "",
            photo_ids=bind_photos(line.get("photo_ids") or (), actor), problem_open=not line["passed"]))
    db.session.add(inspection)
    if site.last_inspected_at is None or _aware(site.last_inspected_at) < at:
        site.last_inspected_at = at
    db.session.flush()
    for line in inspection.items:
        if not line.passed:
            _raise_work_item(site, inspection, line, actor)
    audit.record("construction_sites.inspection.create", target_type="construction_site", target_id=site.id,
                 detail={"inspection_id": inspection.id, "result": inspection.result,
                         "failed": [i.item for i in inspection.items if not i.passed]}, actor=actor)
    announce(site)
    announce_inspection(inspection)
    return inspection


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _raise_work_item(site: Site, inspection: Inspection, line: InspectionItem, actor) -> None:
    from app.services.workflow import create_work_item

    photos = list(dict.fromkeys([*line.photo_ids, *inspection.photo_ids]))
    item = create_work_item(
        tool=CODE, category=f"site_{line.item}", org_unit=site.org_unit,
        title=f"{site.name}：{CHECKLIST[line.item]}不合格",
        description=(f"工地「{site.name}」（许可证号 {site.permit_number or '无'}，施工单位 {site.contractor_name}）"
                     f"{inspection.inspected_at:%Y-%m-%d} 检查发现：{CHECKLIST[line.item]}不合格。{line.note}"),
        source_type="inspection_item", source_id=line.id, address=site.address, lat=site.lat, lng=site.lng,
        photo_ids=photos, reporter_user=actor, actor=actor)
    db.session.flush()
    line.work_item_id = item.id
    line.work_item_number = item.number


def on_work_item_changed(sender, *, item_id=None, state=None, source_tool=None, source_type=None,
                         source_id=None, **_ignored) -> None:
    """A problem's work item was closed (or reopened): keep the site's open-problem flag in step."""
    if source_tool != CODE or source_type != "inspection_item":
        return
    line = db.session.get(InspectionItem, int(source_id))
    if line is None or line.passed:
        return
    open_now = state not in FINISHED_WORK_ITEM_STATES
    if line.problem_open != open_now:
        line.problem_open = open_now
        site = db.session.get(Site, line.site_id)
        if site is not None:
            announce(site)
        db.session.commit()


# --- lists --------------------------------------------------------------------------------------

def sites_query(view: str | None = None, days: int | None = None, status: str | None = None,
                q: str | None = None) -> Select:
    """Sites, optionally only one working list: ending_soon, overdue_inspection, open_problems."""
    stmt = select(Site)
    if status:
        stmt = stmt.where(Site.status == status)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Site.name.ilike(like), Site.address.ilike(like), Site.permit_number.ilike(like),
                              Site.contractor_name.ilike(like)))
    now = today()
    if view == "ending_soon":
        horizon = now + timedelta(days=days if days is not None else DEFAULT_ENDING_SOON_DAYS)
        stmt = stmt.where(Site.status == SiteStatus.ACTIVE, Site.end_date >= now, Site.end_date <= horizon)
        return stmt.order_by(Site.end_date, Site.id)
    if view == "overdue_inspection":
        interval = days if days is not None else inspection_interval_days()
        cutoff = utcnow() - timedelta(days=interval)
        stmt = stmt.where(Site.status == SiteStatus.ACTIVE, Site.start_date <= now - timedelta(days=interval),
                          or_(Site.last_inspected_at.is_(None), Site.last_inspected_at < cutoff))
        return stmt.order_by(Site.last_inspected_at.asc().nulls_first(), Site.id)
    if view == "open_problems":
        stmt = stmt.where(exists().where(InspectionItem.site_id == Site.id, InspectionItem.problem_open.is_(True)))
    elif view is not None:
        stmt = stmt.where(false())
    return stmt.order_by(Site.created_at.desc(), Site.id.desc())


def open_problems(site: Site) -> list[InspectionItem]:
    return list(db.session.execute(select(InspectionItem).where(
        InspectionItem.site_id == site.id, InspectionItem.problem_open.is_(True)).order_by(InspectionItem.id)
    ).scalars())


def overdue_sites_by_street() -> dict[int, list[Site]]:
    """Active sites overdue for inspection, grouped by the id of their street (for reminders)."""
    result: dict[int, list[Site]] = {}
    for site in db.session.execute(sites_query("overdue_inspection")).unique().scalars():
        street = site.org_unit.street
        if street is not None:
            result.setdefault(street.id, []).append(site)
    return result


# --- one-click query ------------------------------------------------------------------------------

def site_record(site: Site, has_open_problems: bool | None = None) -> SearchableRecord:
    if has_open_problems is None:
        has_open_problems = bool(open_problems(site))
    problems = "有未整改问题" if has_open_problems else ""
    return SearchableRecord(
        tool=CODE, type="site", id=str(site.id), org_path=site.org_path, title=site.name,
        address=site.address,
        text=" ".join(filter(None, [site.permit_number, site.owner_name, site.contractor_name,
                                    WORK_KINDS.get(site.work_kind, ""), site.place_code, site.description,
                                    problems])),
        status=site.status, updated_at=site.updated_at or utcnow())


def inspection_record(inspection: Inspection) -> SearchableRecord:
    site = inspection.site
    failed = [CHECKLIST[i.item] for i in inspection.items if not i.passed]
    return SearchableRecord(
        tool=CODE, type="inspection", id=str(inspection.id), org_path=site.org_path,
        title=f"{site.name} {inspection.inspected_at:%Y-%m-%d} 检查", address=site.address,
        text=" ".join([("不合格：" + "、".join(failed)) if failed else "全部合格", inspection.remarks]),
        status=inspection.result, updated_at=inspection.inspected_at)


def announce(site: Site) -> None:
    db.session.flush()
    searchable_saved.send(CODE, record=site_record(site))


def announce_inspection(inspection: Inspection) -> None:
    searchable_saved.send(CODE, record=inspection_record(inspection))


def search_documents() -> Iterator[SearchableRecord]:
    """Every site and inspection, for a full reindex of one-click query."""
    with_problems = set(db.session.execute(
        select(InspectionItem.site_id).where(InspectionItem.problem_open.is_(True)).distinct()).scalars())
    for site in db.session.execute(select(Site).order_by(Site.id)).unique().scalars():
        yield site_record(site, site.id in with_problems)
    for inspection in db.session.execute(select(Inspection).order_by(Inspection.id)).unique().scalars():
        yield inspection_record(inspection)
