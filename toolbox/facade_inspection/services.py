"""Rules of facade fall-risk inspection. No request objects; callers commit.

- A building's risk is the highest grade among the items of its latest inspection.
- High risk raises one rectification (整改) work item for 区房屋管理局 with a deadline; while it is open,
  further high findings do not raise another.
- A re-inspection that finds the building below high risk closes that work item through the workflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.org import OrgLevel, OrgUnit
from app.services import audit
from app.services.attachments import holds_photos
from app.services.photos import bind_photos
from app.services.scope import in_scope, scope_clause
from app.signals import SearchableRecord, searchable_saved
from toolbox.facade_inspection.models import (
    GRADES,
    ITEMS,
    STRUCTURES,
    Building,
    FacadeInspection,
    FacadeInspectionItem,
    highest,
)

CODE = "facade_inspection"
CATEGORY = "facade_high_risk"
FINISHED_WORK_ITEM_STATES = frozenset({"closed", "cancelled"})


def _may_read_inspection(user, record: FacadeInspection | FacadeInspectionItem) -> bool:
    """An inspection and its lines are read by whoever may read the building now."""
    inspection = record if isinstance(record, FacadeInspection) else record.inspection
    return in_scope(user, inspection.building.org_path)


holds_photos(FacadeInspection, may_read=_may_read_inspection)
holds_photos(FacadeInspectionItem, may_read=_may_read_inspection)


def register_building(data: dict, unit: OrgUnit, actor) -> Building:
    from app.services.places import create_place

    building = Building(org_unit=unit, org_unit_id=unit.id, org_path=unit.path, **data)
    db.session.add(building)
    db.session.flush()
    place = create_place(name=building.name, kind="building", org_unit=unit, address=building.address,
                         lat=building.lat, lng=building.lng, ref_tool=CODE, ref_type="building", ref_id=building.id)
    building.place_code = place.code
    audit.record("facade_inspection.building.create", target_type="facade_building", target_id=building.id,
                 detail={"org_unit": unit.code}, actor=actor)
    announce(building)
    return building


def update_building(building: Building, data: dict, actor) -> Building:
    for key, value in data.items():
        setattr(building, key, value)
    audit.record("facade_inspection.building.update", target_type="facade_building", target_id=building.id,
                 detail={"fields": sorted(data)}, actor=actor)
    announce(building)
    return building


def inspect(building: Building, items: list[dict], actor, remarks: str = "", photo_ids: Iterable[int] = (),
            inspected_at: datetime | None = None) -> FacadeInspection:
    """Grade every item, derive the building's risk, and raise or close the rectification work item."""
    codes = [i["item"] for i in items]
    missing = [c for c in ITEMS if c not in codes]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if missing or repeated:
        problems = {}
        if missing:
            problems["missing"] = [f"缺少排查项：{ITEMS[c]}" for c in missing]
        if repeated:
            problems["repeated"] = [f"排查项重复：{ITEMS[c]}" for c in repeated]
        raise ApiError(422, "items_incomplete", "排查项须逐项评级且每项一次",
                       "Every item must be graded exactly once", fields={"items": problems})
    for line in items:
        if line["grade"] in ("medium", "high") and not (line.get("note") or "").strip():
            raise ApiError(422, fields={"items": {line["item"]: ["中、高风险项须填写隐患描述"]}})
    by_code = {i["item"]: i for i in items}
    risk = highest(i["grade"] for i in items)
    at = inspected_at or utcnow()
    inspection = FacadeInspection(
        building=building, building_id=building.id, inspector_id=actor.id, inspected_at=at, risk_level=risk,
        remarks=remarks, photo_ids=bind_photos(photo_ids, actor),
        is_reinspection=building.rectification_open)
    db.session.add(inspection)  # before a line's photos are looked up (an autoflush must see it)
    for code in ITEMS:
        line = by_code[code]
        inspection.items.append(FacadeInspectionItem(
            item=code, grade=line["grade"], note=line.get("note") or "",
            photo_ids=bind_photos(line.get("photo_ids") or (), actor)))
    db.session.add(inspection)
    db.session.flush()
    newest = building.last_inspected_at is None or _aware(building.last_inspected_at) <= at
    if newest:
        building.risk_level = risk
        building.last_inspected_at = at
        if risk == "high" and not building.rectification_open:
            _raise_rectification(building, inspection, actor)
        elif risk == "high":
            inspection.work_item_id = building.rectification_work_item_id
            inspection.work_item_outcome = "still_high"
        elif building.rectification_open:
            _close_rectification(building, inspection, actor)
    audit.record("facade_inspection.inspection.create", target_type="facade_building", target_id=building.id,
                 detail={"inspection_id": inspection.id, "risk_level": risk,
                         "work_item": inspection.work_item_outcome}, actor=actor)
    announce(building)
    announce_inspection(inspection)
    return inspection


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _raise_rectification(building: Building, inspection: FacadeInspection, actor) -> None:
    from app.services.workflow import create_work_item

    high = [line for line in inspection.items if line.grade == "high"]
    photos = list(dict.fromkeys([p for line in high for p in line.photo_ids] + list(inspection.photo_ids)))
    item = create_work_item(
        tool=CODE, category=CATEGORY, org_unit=building.org_unit, priority="urgent",
        title=f"{building.name}外墙高坠隐患整改",
        description="；".join(f"{ITEMS[line.item]}：{line.note}" for line in high)
                    + f"。管理单位：{building.managing_party}。整改后请通知复查。",
        source_type="building", source_id=building.id, address=building.address, lat=building.lat,
        lng=building.lng, photo_ids=photos, reporter_user=actor, actor=actor)
    db.session.flush()
    building.rectification_work_item_id = item.id
    building.rectification_number = item.number
    building.rectification_due_at = item.close_due_at
    building.rectification_open = True
    inspection.work_item_id = item.id
    inspection.work_item_outcome = "raised"


def _close_rectification(building: Building, inspection: FacadeInspection, actor) -> None:
    from app.services.workflow import close_verified

    close_verified(building.rectification_work_item_id, tool=CODE, actor=actor,
                   reason=f"复查风险等级为{GRADES[inspection.risk_level]}，外墙隐患已整改",
                   inspection_id=inspection.id)
    building.rectification_open = False
    inspection.work_item_id = building.rectification_work_item_id
    inspection.work_item_outcome = "closed"


def on_work_item_changed(sender, *, item_id=None, state=None, source_tool=None, source_type=None,
                         source_id=None, **_ignored) -> None:
    """Keep the building's rectification flag in step when the workflow closes or reopens the item."""
    if source_tool != CODE or source_type != "building":
        return
    building = db.session.get(Building, int(source_id))
    if building is None or building.rectification_work_item_id != item_id:
        return
    open_now = state not in FINISHED_WORK_ITEM_STATES
    if building.rectification_open != open_now:
        building.rectification_open = open_now
        announce(building)
        db.session.commit()


# --- campaign progress --------------------------------------------------------------------------------

def progress_by_street(user, since: date | None = None) -> list[dict]:
    """Per street: buildings in my scope, how many inspected (since a date), and how many at each risk."""
    rows = db.session.execute(
        select(Building.org_path, Building.risk_level, Building.last_inspected_at)
        .where(scope_clause(Building.org_path, user))).all()
    streets = {u.code: u for u in db.session.execute(
        select(OrgUnit).where(OrgUnit.level == OrgLevel.STREET)).scalars()}
    stats: dict[str, dict] = {}
    since_at = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    for path, risk, inspected_at in rows:
        parts = path.strip("/").split("/")
        street = streets.get(parts[1]) if len(parts) > 1 else None
        if street is None:
            continue
        s = stats.setdefault(street.code, {
            "street": {"code": street.code, "name": street.name}, "total": 0, "inspected": 0,
            "by_risk": {g: 0 for g in GRADES}, "uninspected": 0, "_order": street.sort_order})
        s["total"] += 1
        counted = inspected_at is not None and (since_at is None or _aware(inspected_at) >= since_at)
        if counted:
            s["inspected"] += 1
            s["by_risk"][risk] += 1
        else:
            s["uninspected"] += 1
    result = sorted(stats.values(), key=lambda s: s.pop("_order"))
    for s in result:
        s["percent"] = round(100 * s["inspected"] / s["total"], 1) if s["total"] else 0.0
    return result


# --- one-click query -------------------------------------------------------------------------------

def building_record(b: Building) -> SearchableRecord:
    risk = GRADES.get(b.risk_level, "未排查") if b.risk_level else "未排查"
    return SearchableRecord(
        tool=CODE, type="building", id=str(b.id), org_path=b.org_path, title=b.name, address=b.address,
        text=" ".join(filter(None, [b.managing_party, STRUCTURES.get(b.structure, ""), f"{b.floors}层", risk,
                                    b.place_code, "整改中 " + (b.rectification_number or "")
                                    if b.rectification_open else ""])),
        status=b.risk_level or "uninspected", updated_at=b.updated_at or utcnow())


def inspection_record(i: FacadeInspection) -> SearchableRecord:
    b = i.building
    found = [f"{ITEMS[x.item]}{GRADES[x.grade]}" for x in i.items if x.grade != "none"]
    return SearchableRecord(
        tool=CODE, type="inspection", id=str(i.id), org_path=b.org_path,
        title=f"{b.name} {i.inspected_at:%Y-%m-%d} 外墙排查", address=b.address,
        text=" ".join(["、".join(found) or "未发现隐患", i.remarks]), status=i.risk_level,
        updated_at=i.inspected_at)


def announce(building: Building) -> None:
    db.session.flush()
    searchable_saved.send(CODE, record=building_record(building))


def announce_inspection(inspection: FacadeInspection) -> None:
    searchable_saved.send(CODE, record=inspection_record(inspection))


def search_documents() -> Iterator[SearchableRecord]:
    for b in db.session.execute(select(Building).order_by(Building.id)).unique().scalars():
        yield building_record(b)
    for i in db.session.execute(select(FacadeInspection).order_by(FacadeInspection.id)).unique().scalars():
        yield inspection_record(i)
