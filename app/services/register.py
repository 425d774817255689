"""A tool's register: creating and changing its records (RegisterRecord) with their Jing'an code,
audit row and one-click query entry, and checklists answered item by item. Callers commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.services import audit
from app.services.places import create_place, get_place
from app.signals import searchable_saved

PLACE_FIELDS = ("name", "address", "lat", "lng")


def index_record(record) -> None:
    """Put the record's current state into one-click query (in the caller's transaction)."""
    db.session.flush()
    entry = record.search_record()
    searchable_saved.send(entry.tool, record=entry)


def _audit(record, verb: str, actor, detail: dict) -> None:
    tool, kind = record.record_of
    audit.record(f"{tool}.{kind}.{verb}", target_type=f"{tool}_{kind}", target_id=record.id, detail=detail,
                 actor=actor)


def register_record(record, unit: OrgUnit, actor, **detail):
    """Add a new record in unit: its place with a fresh Jing'an code, an audit row, its index entry."""
    tool, kind = record.record_of
    record.org_unit, record.org_unit_id, record.org_path = unit, unit.id, unit.path
    db.session.add(record)
    db.session.flush()
    place = create_place(name=record.name, kind=record.place_kind, org_unit=unit, address=record.address,
                         lat=record.lat, lng=record.lng, ref_tool=tool, ref_type=kind, ref_id=record.id,
                         created_by=actor)
    record.place_code = place.code
    _audit(record, "create", actor, {"org_unit": unit.code, "place": place.code, **detail})
    index_record(record)
    return record


def update_record(record, data: Mapping, actor):
    """Change the fields sent; the record's place follows its name, address and position."""
    for key, value in data.items():
        setattr(record, key, value)
    place = get_place(record.place_code) if record.place_code else None
    if place is not None and any(key in data for key in PLACE_FIELDS):
        for key in PLACE_FIELDS:
            setattr(place, key, getattr(record, key))
    _audit(record, "update", actor, {"fields": sorted(data)})
    index_record(record)
    return record


def check_every_item_once(lines: Iterable[Mapping], items: Mapping[str, str], *, noun: str, code: str, zh: str,
                          en: str = "Every item must be answered exactly once") -> None:
    """A checklist answer names each of `items` (code → name) once: 422 listing what is missing or repeated."""
    codes = [line["item"] for line in lines]
    missing = [c for c in items if c not in codes]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    problems = {}
    if missing:
        problems["missing"] = [f"缺少{noun}：{items[c]}" for c in missing]
    if repeated:
        problems["repeated"] = [f"{noun}重复：{items.get(c, c)}" for c in repeated]
    if problems:
        raise ApiError(422, code, zh, en, fields={"items": problems})


def require_notes(lines: Iterable[Mapping], needs_note, message: str) -> None:
    """Lines for which needs_note(line) is true must carry a note: 422 naming each line's item."""
    for line in lines:
        if needs_note(line) and not (line.get("note") or "").strip():
            raise ApiError(422, fields={"items": {line["item"]: [message]}})
