"""Rules of facade fall-risk inspection. No request objects; callers commit.

- A building's risk is the highest grade among the items of its latest inspection.
- High risk raises one rectification (整改) work item for 区房屋管理局 with a deadline; while it is open,
  further high findings do not raise another.
- A re-inspection that finds the building below high risk closes that work item through the workflow.
The workflow owns the rectification's state: the building asks it (Building.rectification).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

from sqlalchemy import select

from app import toolkit as tk
from toolbox.facade_inspection.models import (
    CODE,
    GRADES,
    ITEMS,
    Building,
    FacadeInspection,
    FacadeInspectionItem,
    highest,
)

CATEGORY = "facade_high_risk"


def _may_read_inspection(user, record: FacadeInspection | FacadeInspectionItem) -> bool:
    """An inspection and its lines are read by whoever may read the building now."""
    inspection = record if isinstance(record, FacadeInspection) else record.inspection
    return tk.in_scope(user, inspection.building.org_path)


tk.holds_photos(FacadeInspection, may_read=_may_read_inspection)
tk.holds_photos(FacadeInspectionItem, may_read=_may_read_inspection)


def register_building(data: dict, unit: tk.OrgUnit, actor) -> Building:
    return tk.register_record(Building(**data), unit, actor)


def inspect(building: Building, items: list[dict], actor, remarks: str = "", photo_ids: Iterable[int] = (),
            inspected_at: datetime | None = None) -> FacadeInspection:
    """Grade every item, derive the building's risk, and raise or close the rectification work item."""
    tk.check_every_item_once(items, ITEMS, noun="排查项", code="items_incomplete", zh="排查项须逐项评级且每项一次",
                             en="Every item must be graded exactly once")
    tk.require_notes(items, lambda line: line["grade"] in ("medium", "high"), "中、高风险项须填写隐患描述")
    by_code = {i["item"]: i for i in items}
    risk = highest(i["grade"] for i in items)
    at = inspected_at or tk.utcnow()
    open_item = building.rectification
    inspection = FacadeInspection(
        building=building, building_id=building.id, inspector_id=actor.id, inspected_at=at, risk_level=risk,
        remarks=remarks, photo_ids=tk.bind_photos(photo_ids, actor),
        is_reinspection=open_item is not None)
    for code in ITEMS:
        line = by_code[code]
        inspection.items.append(FacadeInspectionItem(
            item=code, grade=line["grade"], note=line.get("note") or "",
            photo_ids=tk.bind_photos(line.get("photo_ids") or (), actor)))
    tk.db.session.add(inspection)
    tk.db.session.flush()
    if building.last_inspected_at is None or building.last_inspected_at <= at:  # the newest inspection decides
        building.risk_level = risk
        building.last_inspected_at = at
        if risk == "high" and open_item is None:
            open_item = _raise_rectification(building, inspection, actor)
            inspection.work_item_outcome = "raised"
        elif risk == "high":
            inspection.work_item_outcome = "still_high"
        elif open_item is not None:
            tk.close_verified(open_item.id, tool=CODE, actor=actor, inspection_id=inspection.id,
                              reason=f"复查风险等级为{GRADES[risk]}，外墙隐患已整改")
            inspection.work_item_outcome = "closed"
        inspection.work_item_id = open_item.id if open_item is not None else None
    tk.audit.record("facade_inspection.inspection.create", target_type="facade_inspection_building",
                    target_id=building.id, actor=actor, detail={"inspection_id": inspection.id, "risk_level": risk,
                                                                "work_item": inspection.work_item_outcome})
    tk.index_record(building)
    tk.index_record(inspection)
    return inspection


def _raise_rectification(building: Building, inspection: FacadeInspection, actor) -> tk.WorkItem:
    high = [line for line in inspection.items if line.grade == "high"]
    photos = list(dict.fromkeys([p for line in high for p in line.photo_ids] + list(inspection.photo_ids)))
    return tk.raise_work_item(
        building, category=CATEGORY, priority="urgent", title=f"{building.name}外墙高坠隐患整改",
        description="；".join(f"{ITEMS[line.item]}：{line.note}" for line in high)
                    + f"。管理单位：{building.managing_party}。整改后请通知复查。",
        address=building.address, lat=building.lat, lng=building.lng, photo_ids=photos, reporter_user=actor,
        actor=actor)


def on_work_item_changed(sender, *, source_type=None, source_id=None, **_ignored) -> None:
    """One-click query shows whether a building is being rectified: re-index it when its item changes."""
    building = tk.db.session.get(Building, int(source_id)) if source_type == "building" else None
    if building is not None:
        tk.index_record(building)


def inspections_of(building: Building):
    """A building's inspections, newest first."""
    return select(FacadeInspection).where(FacadeInspection.building_id == building.id).order_by(
        FacadeInspection.inspected_at.desc(), FacadeInspection.id.desc())


# --- campaign progress --------------------------------------------------------------------------------

def progress_by_street(user, since: date | None = None) -> list[dict]:
    """Per street: buildings in my scope, how many inspected (since a date), and how many at each risk."""
    rows = tk.db.session.execute(
        select(Building.org_path, Building.risk_level, Building.last_inspected_at)
        .where(tk.scope_clause(Building.org_path, user))).all()
    streets = {u.code: u for u in tk.db.session.execute(
        select(tk.OrgUnit).where(tk.OrgUnit.level == tk.OrgLevel.STREET)).scalars()}
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
        if inspected_at is not None and (since_at is None or inspected_at >= since_at):
            s["inspected"] += 1
            s["by_risk"][risk] += 1
        else:
            s["uninspected"] += 1
    result = sorted(stats.values(), key=lambda s: s.pop("_order"))
    for s in result:
        s["percent"] = round(100 * s["inspected"] / s["total"], 1) if s["total"] else 0.0
    return result


def search_documents() -> Iterator[tk.SearchableRecord]:
    for b in tk.db.session.execute(select(Building).order_by(Building.id)).unique().scalars():
        yield b.search_record()
    for i in tk.db.session.execute(select(FacadeInspection).order_by(FacadeInspection.id)).unique().scalars():
        yield i.search_record()
