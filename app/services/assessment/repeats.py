"""Repeat complaints (重复诉求): a new work item repeats an earlier one when

  * the same place (same address, or within REPEAT_DISTANCE_M metres) and the same category recur
    within REPEAT_WINDOW_WORKING_DAYS working days, or
  * its text is near-identical (character-bigram Dice similarity ≥ REPEAT_TEXT_SIMILARITY) to a
    recent item there (same place, nearby, or the same handling unit), whatever its category.

The repeat is linked to the earliest such item (work_item_repeat), found when the item is created (in
the creating transaction, see store.py), counted per unit (重复诉求率) and shown on the item.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from app.models.stats import WorkItemRepeat
from app.models.workitem import WorkItem
from app.services.workdays import TZ, WorkingCalendar, local_date

REASONS = {"place": "同一地点同类诉求", "nearby": "相近地点同类诉求", "text": "诉求内容高度相似"}
CANDIDATES = 200
EARTH_M_PER_DEGREE = 111_320.0


def bigrams(text: str) -> set[str]:
    chars = [c for c in (text or "") if not c.isspace()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)} or set(chars)


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the two texts' character bigrams (0..1): Chinese needs no word breaking."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


def distance_m(lat1, lng1, lat2, lng2) -> float:
    """Metres between two points (equirectangular: exact enough at 50 m)."""
    dx = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, math.radians(lat2 - lat1)) * 6_371_000


def window_start(item: WorkItem, calendar: WorkingCalendar, days: int):
    """The instant N working days before the item was received (start of that day, Beijing)."""
    day, counted = local_date(item.created_at), 0
    while counted < days:
        day -= timedelta(days=1)
        if calendar.is_working(day):
            counted += 1
    return datetime.combine(day, time.min, tzinfo=TZ)


def _text(item: WorkItem) -> str:
    return f"{item.title or ''}{item.description or ''}"


def find_earlier(session, item: WorkItem, calendar: WorkingCalendar | None = None) -> dict | None:
    """The earlier item this one repeats, as {earlier_id, reason, distance_m, similarity}, or None."""
    config = current_app.config
    calendar = calendar or WorkingCalendar()
    since = window_start(item, calendar, config["REPEAT_WINDOW_WORKING_DAYS"])
    radius, threshold = config["REPEAT_DISTANCE_M"], config["REPEAT_TEXT_SIMILARITY"]
    near = []
    if item.address:
        near.append(WorkItem.address == item.address)
    if item.lat is not None and item.lng is not None:
        dlat = radius / EARTH_M_PER_DEGREE
        dlng = dlat / max(math.cos(math.radians(item.lat)), 0.01)
        near.append(WorkItem.lat.between(item.lat - dlat, item.lat + dlat)
                    & WorkItem.lng.between(item.lng - dlng, item.lng + dlng))
    stmt = (select(WorkItem).where(WorkItem.id != item.id, WorkItem.created_at >= since,
                                   WorkItem.created_at <= item.created_at,
                                   or_(*near, WorkItem.org_path == item.org_path))
            .order_by(WorkItem.created_at, WorkItem.id).limit(CANDIDATES))
    for earlier in session.execute(stmt).scalars():
        found = _match(item, earlier, radius, threshold)
        if found:
            return {"earlier_id": earlier.id, **found}
    return None


def _match(item: WorkItem, earlier: WorkItem, radius: int, threshold: float) -> dict | None:
    metres = None
    if None not in (item.lat, item.lng, earlier.lat, earlier.lng):
        metres = distance_m(item.lat, item.lng, earlier.lat, earlier.lng)
    same_place = bool(item.address) and item.address == earlier.address
    nearby = metres is not None and metres <= radius
    if earlier.category == item.category and (same_place or nearby):
        return {"reason": "place" if same_place else "nearby", "distance_m": None if metres is None else round(metres),
                "similarity": None}
    score = similarity(_text(item), _text(earlier))
    if score >= threshold and (same_place or nearby or earlier.org_path == item.org_path):
        return {"reason": "text", "distance_m": None if metres is None else round(metres),
                "similarity": round(score * 100)}
    return None


def link_repeats(session, items) -> int:
    """Find and record the repeats among newly created items (in the creating transaction)."""
    calendar, linked = None, 0
    for item in items:
        if item.id is None or session.get(WorkItemRepeat, item.id) is not None:
            continue
        calendar = calendar or WorkingCalendar()
        found = find_earlier(session, item, calendar)
        if found:
            session.add(WorkItemRepeat(work_item_id=item.id, **found))
            linked += 1
    if linked:
        session.flush()
    return linked


def repeat_ids(session, item_ids: list[int]) -> set[int]:
    """The ids among item_ids that are linked to an earlier item as repeats."""
    if not item_ids:
        return set()
    rows = session.execute(select(WorkItemRepeat.work_item_id).where(WorkItemRepeat.work_item_id.in_(item_ids)))
    return set(rows.scalars())


def repeat_view(session, item: WorkItem) -> dict:
    """What the item shows: the earlier item it repeats (if any) and how many later items repeat it."""
    link = session.get(WorkItemRepeat, item.id)
    earlier = session.get(WorkItem, link.earlier_id) if link else None
    later = session.execute(select(func.count()).where(WorkItemRepeat.earlier_id == item.id)).scalar_one()
    return {"repeat_of": None if earlier is None else {
        "id": earlier.id, "number": earlier.number, "title": earlier.title, "reason": link.reason,
        "reason_label": REASONS[link.reason], "distance_m": link.distance_m, "similarity": link.similarity},
        "repeated_by": later}
