"""Records of tools defined without code: write, read (masked), list with filters, rules → work items.

    record = create_record(code, values, actor, org_unit_code=None)   # 422 with Chinese field messages
    update_record(record, changes, actor)
    view(record, body)                                                 # the JSON a client sees (masked)
    list_statement(code, user, filters, sort)

A record stands in the unit of its Jing'an code (a `place` field) or in the unit the writer names; its
photos (every `photos` field, lines of groups included) go through the photo pipeline and are read by
whoever may read the record. Phone and ID numbers are stored encrypted with a blind index, shown masked;
`unmask()` shows them and writes the audit row. Rules are evaluated on every write: a match raises a work
item through the workflow, or attaches to the one still open for the same rule at the same place (or unit).
THE CALLER COMMITS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC

from sqlalchemy import cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB

from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.definitions import DefinedRecord, DefinedRecordMatch, DefinedSerial
from app.models.org import OrgUnit
from app.models.users import User
from app.models.workitem import WorkItem
from app.services import audit
from app.services import fields as F
from app.services.attachments import holds_photos
from app.services.crypto import blind_index, decrypt, encrypt, mask_mobile, mask_name
from app.services.photos import bind_photos
from app.services.places import get_place
from app.services.register import index_record
from app.services.rules import evaluate, parse_rule
from app.services.scope import ensure_in_scope, in_scope, scope_clause
from app.services.workflow import OPEN_STATES, raise_work_item
from app.services.workflow.timeline import add_event
from app.signals import SearchableRecord

holds_photos(DefinedRecord, may_read=lambda user, record: in_scope(user, record.org_path))


def _specs(body) -> dict[str, dict]:
    return {f["name"]: f for f in body["fields"]}


def _labels(body) -> dict[str, str]:
    labels = {}
    for f in body["fields"]:
        labels[f["name"]] = f["label"]
        for line in f.get("fields") or ():
            labels[f"{f['name']}.{line['name']}"] = line["label"]
    return labels


# --- personal data ------------------------------------------------------------------------------------

def mask_id_number(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "****"


def _seal(spec, value: str) -> dict:
    masked = {"phone": mask_mobile, "person_name": mask_name}.get(spec["type"], mask_id_number)(value)
    return {"masked": masked, "cipher": encrypt(value), "bi": blind_index(value)}


def _sealed_values(specs, values: dict) -> dict:
    for name, value in list(values.items()):
        spec = specs.get(name)
        if spec is None:
            continue
        if spec["type"] in F.PERSONAL and isinstance(value, str):
            values[name] = _seal(spec, value)
        elif spec["type"] == "group":
            line_specs = {x["name"]: x for x in spec["fields"]}
            values[name] = [_sealed_values(line_specs, dict(line)) for line in value]
    return values


def _masked(specs, data: Mapping) -> dict:
    out = {}
    for name, value in data.items():
        spec = specs.get(name)
        if spec is not None and spec["type"] in F.PERSONAL and isinstance(value, Mapping):
            out[name] = value.get("masked")
        elif spec is not None and spec["type"] == "group" and isinstance(value, list):
            line_specs = {x["name"]: x for x in spec["fields"]}
            out[name] = [_masked(line_specs, line) for line in value]
        else:
            out[name] = value
    return out


def _unsealed(specs, data: Mapping) -> dict:
    out = {}
    for name, value in data.items():
        spec = specs.get(name)
        if spec is None:
            continue
        if spec["type"] in F.PERSONAL and isinstance(value, Mapping):
            out[name] = decrypt(value["cipher"])
        elif spec["type"] == "group" and isinstance(value, list):
            line_specs = {x["name"]: x for x in spec["fields"]}
            inner = [_unsealed(line_specs, line) for line in value]
            if any(inner):
                out[name] = inner
    return out


def unsealed_values(body, data: Mapping) -> dict:
    """The personal values of a record in the clear (for a caller who has already been allowed them)."""
    return _unsealed(_specs(body), data)


def unmask(record: DefinedRecord, body, actor) -> dict:
    """The record's phone and ID numbers in the clear; the view is audited (who, which record, which fields)."""
    shown = _unsealed(_specs(body), record.data)
    audit.record("pii.view", target_type=f"{record.tool_code}_record", target_id=record.id, actor=actor,
                 detail={"tool": record.tool_code, "fields": sorted(shown)})
    return shown


# --- writing --------------------------------------------------------------------------------------------

def _invalid(errors: dict) -> ApiError:
    return ApiError(422, "validation_error", "请检查标红的内容", "Invalid input", fields=errors)


def _check_refs(specs, values: dict, actor) -> dict:
    """Database checks: places, units and staff exist (and are the writer's to name), photos are usable."""
    errors = {}
    for name, spec in specs.items():
        value = values.get(name)
        if value is None:
            continue
        kind = spec["type"]
        if kind == "place":
            place = get_place(value, active_only=True)
            if place is None:
                errors[name] = [f"静安码 {value} 不存在"]
            elif not in_scope(actor, place.org_path):
                errors[name] = ["该静安码不在您的负责范围内"]
            else:
                values[name] = place.code
        elif kind == "org_unit":
            if db.session.execute(select(OrgUnit.id).where(OrgUnit.code == value)).first() is None:
                errors[name] = ["单位不存在"]
        elif kind == "staff":
            if db.session.execute(select(User.id).where(User.wecom_userid == value)).first() is None:
                errors[name] = ["工作人员不存在"]
        elif kind == "photos":
            try:
                values[name] = bind_photos(value, actor)
            except ApiError:
                errors[name] = ["照片不存在或未上传成功，请重新上传"]
    return errors


def _photo_ids(specs, data: Mapping) -> list[int]:
    ids = []
    for name, spec in specs.items():
        if spec["type"] == "photos":
            ids += data.get(name) or []
        elif spec["type"] == "group":
            inner = {x["name"]: x for x in spec["fields"]}
            for line in data.get(name) or ():
                ids += _photo_ids(inner, line)
    return list(dict.fromkeys(ids))


def _next_serial(code: str, spec: Mapping) -> str:
    """Per tool, field and year: PREFIX-2026-000001. The counter row is locked, so two writers never share one."""
    year = utcnow().astimezone(UTC).year
    row = db.session.get(DefinedSerial, (code, spec["name"], year), with_for_update=True)
    if row is None:
        row = DefinedSerial(tool_code=code, field=spec["name"], year=year, last=0)
        db.session.add(row)
    row.last += 1
    db.session.flush()
    prefix = spec.get("prefix") or code.upper()[:8]
    return f"{prefix}-{year}-{row.last:06d}"


def _unit_of(code: str, specs, values: dict, org_unit_code: str | None, actor) -> tuple[OrgUnit, object]:
    place_field = next((n for n, s in specs.items() if s["type"] == "place"), None)
    place = get_place(values[place_field]) if place_field and values.get(place_field) else None
    if place is not None:
        return place.org_unit, place
    if org_unit_code:
        unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == org_unit_code)).scalar_one_or_none()
        if unit is None:
            raise _invalid({"org_unit": ["所属单位不存在"]})
        ensure_in_scope(actor, unit.path)
        return unit, None
    mine = [m.org_unit for m in actor.memberships if m.org_unit.level in ("street", "grid", "committee")]
    if len(mine) == 1:
        return mine[0], None
    raise _invalid({"org_unit": ["请选择记录所属单位"]})


def create_record(code: str, body, payload, actor, *, org_unit_code: str | None = None,
                  version: int = 1) -> DefinedRecord:
    if not isinstance(payload, Mapping):
        raise _invalid({"values": ["须为对象"]})
    specs = _specs(body)
    values, errors = F.clean_values(body["fields"], payload)
    errors.update(_check_refs(specs, values, actor) if not errors else {})
    if errors:
        raise _invalid(errors)
    unit, place = _unit_of(code, specs, values, org_unit_code, actor)
    location = next((values[n] for n, s in specs.items() if s["type"] == "location" and values.get(n)), None)
    record = DefinedRecord(tool_code=code, version=version, legacy={}, org_unit=unit, org_unit_id=unit.id,
                           org_path=unit.path, created_by_id=actor.id,
                           place_code=getattr(place, "code", None),
                           address=(location or {}).get("address") or getattr(place, "address", None),
                           lat=(location or {}).get("lat") or getattr(place, "lat", None),
                           lng=(location or {}).get("lng") or getattr(place, "lng", None))
    for name, spec in specs.items():
        if spec["type"] == "serial":
            values[name] = record.serial = _next_serial(code, spec)
    record.data = _sealed_values(specs, values)
    record.photo_ids = _photo_ids(specs, record.data)
    db.session.add(record)
    db.session.flush()
    audit.record(f"{code}.record.create", target_type=f"{code}_record", target_id=record.id, actor=actor,
                 detail={"org_unit": unit.code, "place": record.place_code, "version": version})
    apply_rules(record, body, actor)
    index_record(_Indexed(record, body))
    return record


def update_record(record: DefinedRecord, body, changes, actor, *, version: int) -> DefinedRecord:
    """Change the fields sent (a PATCH): validated under the version in force, which the record then carries."""
    if not isinstance(changes, Mapping):
        raise _invalid({"values": ["须为对象"]})
    specs = _specs(body)
    changes = {k: v for k, v in changes.items() if specs.get(k, {}).get("type") != "serial"}
    values, errors = F.clean_values(body["fields"], changes, partial=True)
    errors.update(_check_refs(specs, values, actor) if not errors else {})
    missing = [n for n in changes if n in specs and specs[n].get("required") and n not in values]
    errors.update({n: [f"请填写{specs[n]['label']}"] for n in missing if n not in errors})
    if errors:
        raise _invalid(errors)
    data = dict(record.data)
    for name in changes:
        if name in values:
            data[name] = values[name]
        else:
            data.pop(name, None)
    record.data = _sealed_values(specs, {**data, **{k: v for k, v in values.items()}})
    record.photo_ids = _photo_ids(specs, record.data)
    record.version = version
    record.updated_at = utcnow()
    audit.record(f"{record.tool_code}.record.update", target_type=f"{record.tool_code}_record",
                 target_id=record.id, actor=actor, detail={"fields": sorted(changes), "version": version})
    apply_rules(record, body, actor)
    index_record(_Indexed(record, body))
    return record


# --- rules → work items ---------------------------------------------------------------------------------

def _match_key(record: DefinedRecord) -> str:
    """What "the same problem" means for attaching: the same Jing'an code, else the same unit."""
    return f"place:{record.place_code}" if record.place_code else f"unit:{record.org_unit.code}"


def _open_item_for(record: DefinedRecord, rule_code: str) -> WorkItem | None:
    stmt = (select(WorkItem).join(DefinedRecordMatch, DefinedRecordMatch.work_item_id == WorkItem.id)
            .where(DefinedRecordMatch.tool_code == record.tool_code, DefinedRecordMatch.rule == rule_code,
                   DefinedRecordMatch.match_key == _match_key(record), WorkItem.state.in_(OPEN_STATES))
            .order_by(WorkItem.id.desc()).limit(1))
    return db.session.execute(stmt).scalar_one_or_none()


def apply_rules(record: DefinedRecord, body, actor, *, now=None) -> list[DefinedRecordMatch]:
    """Evaluate the definition's rules on the record; raise or attach a work item for each match."""
    plain = _masked(_specs(body), record.data)
    labels = _labels(body)
    categories = {c["code"]: c for c in body["categories"]}
    done = []
    already = {m.rule for m in db.session.execute(select(DefinedRecordMatch).where(
        DefinedRecordMatch.record_id == record.id)).scalars()}
    for raw in body["rules"]:
        rule = parse_rule(raw)
        if rule.code in already:
            continue  # a record raises (or attaches to) an item once per rule
        match = evaluate(rule, plain, labels=labels, created_at=record.created_at, now=now)
        if match is None:
            continue
        item = _open_item_for(record, rule.code)
        outcome = "attached"
        if item is None:
            item = _raise(record, body, rule, match, categories[rule.category], plain, actor)
            outcome = "raised"
        else:
            add_event(item, "attach", actor, from_state=item.state, to_state=item.state, from_unit=item.org_unit,
                      to_unit=item.org_unit, at=utcnow(), reason=match.explanation,
                      source={"tool": record.tool_code, "type": "record", "id": str(record.id)})
            item.last_action_at = utcnow()
        row = DefinedRecordMatch(record_id=record.id, tool_code=record.tool_code, rule=rule.code,
                                 match_key=_match_key(record), work_item_id=item.id, outcome=outcome,
                                 explanation=match.explanation)
        db.session.add(row)
        done.append(row)
    db.session.flush()
    return done


def _raise(record, body, rule, match, category, plain, actor) -> WorkItem:
    title_value = plain.get(body.get("title_field")) if body.get("title_field") else None
    title = rule.title or f"{body['name']}：{category['name']}"
    if title_value and not rule.title:
        title = f"{title}（{title_value}）" if isinstance(title_value, str) else title
    place = f"静安码 {record.place_code}。" if record.place_code else ""
    return raise_work_item(record, category=rule.category, title=title[:200],
                           description=f"{match.explanation}。{place}记录编号 {record.serial or record.id}。",
                           address=record.address, lat=record.lat, lng=record.lng, photo_ids=record.photo_ids,
                           reporter_user=actor, actor=actor)


def matches_of(record: DefinedRecord) -> list[dict]:
    rows = db.session.execute(select(DefinedRecordMatch, WorkItem).join(
        WorkItem, WorkItem.id == DefinedRecordMatch.work_item_id).where(
        DefinedRecordMatch.record_id == record.id).order_by(DefinedRecordMatch.id)).all()
    return [{"rule": m.rule, "outcome": m.outcome, "explanation": m.explanation,
             "work_item": {"id": w.id, "number": w.number, "state": w.state, "org_unit": w.org_unit.code}}
            for m, w in rows]


# --- reading --------------------------------------------------------------------------------------------

def view(record: DefinedRecord, body, *, with_matches: bool = True) -> dict:
    out = {"id": record.id, "tool": record.tool_code, "version": record.version, "serial": record.serial,
           "values": _masked(_specs(body), record.data), "org_unit": record.org_unit.to_summary(),
           "place_code": record.place_code, "address": record.address, "lat": record.lat, "lng": record.lng,
           "photo_ids": list(record.photo_ids or []),
           "created_at": record.created_at.isoformat() if record.created_at else None,
           "updated_at": record.updated_at.isoformat() if record.updated_at else None}
    if record.legacy:
        out["legacy"] = record.legacy
    if with_matches:
        out["work_items"] = matches_of(record)
    return out


def get_record(code: str, record_id: int, user) -> DefinedRecord:
    record = db.session.get(DefinedRecord, record_id)
    if record is None or record.tool_code != code:
        raise ApiError(404, "record_not_found", "记录不存在", "No such record")
    ensure_in_scope(user, record.org_path)
    return record


_META_SORTS = {"created_at": DefinedRecord.id, "id": DefinedRecord.id, "updated_at": DefinedRecord.updated_at}


def field_expression(name: str):
    """The stored value of a field, exactly as the expression index has it: `data -> 'name'` with the name as
    a literal (a bound key would not match the index in a generic plan). Names are validated identifiers."""
    if db.engine.dialect.name == "postgresql":
        if not F.FIELD_NAME.match(name):
            raise ValueError(f"not a field name: {name!r}")
        return DefinedRecord.data.op("->", return_type=JSONB)(literal_column(f"'{name}'"))
    return func.json_extract(DefinedRecord.data, f"$.{name}")  # SQLite: numbers compare as numbers


def list_statement(code: str, body, user, filters: Mapping[str, str], sort: str | None = None):
    """Records of the tool in the user's scope, filtered on filterable fields, sorted (newest first by default)."""
    specs = _specs(body)
    stmt = select(DefinedRecord).where(DefinedRecord.tool_code == code, scope_clause(DefinedRecord.org_path, user))
    for name, raw in filters.items():
        spec = specs.get(name)
        if spec is None or not spec.get("filterable"):
            raise ApiError(400, "invalid_filter", f"字段 {name} 不能用于筛选", "This field cannot be filtered on",
                           field=name)
        value, error = F.clean(dict(spec, required=False), _typed(spec, raw))
        if error:
            raise ApiError(400, "invalid_filter", error if isinstance(error, str) else "筛选条件无效",
                           "Invalid filter value", field=name)
        stmt = stmt.where(_equals(name, value))
    sort = sort or f"-{body['sort']['field']}" if body["sort"].get("order") == "desc" else body["sort"]["field"]
    stmt = stmt.order_by(*_order(sort, specs))
    return stmt


COUNT_CAP = 1_000  # up to here the total is counted; beyond it, the planner's estimate (total_exact false)


def page_of(statement, page: int, per_page: int, dump) -> dict:
    """One page, and how many match. The page walks an index in sort order and stops after per_page rows; an exact
    count of a large match would read all of it, so on PostgreSQL the planner's estimate (from the expression
    statistics made at publish) decides: a small match is counted exactly, a large one is reported as estimated
    ("约 1.4 万条" is what a person needs)."""
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    matching = statement.order_by(None).with_only_columns(DefinedRecord.id)
    estimate = _estimated_rows(matching)
    if estimate is not None and estimate > COUNT_CAP:
        total, exact = estimate, False
    else:
        capped = matching.limit(COUNT_CAP + 1).subquery()
        total = db.session.execute(select(func.count()).select_from(capped)).scalar_one()
        exact = total <= COUNT_CAP
    total = max(total, (page - 1) * per_page + len(rows))
    return {"items": [dump(r) for r in rows], "page": page, "per_page": per_page, "total": total,
            "total_exact": exact, "pages": (total + per_page - 1) // per_page}


def _estimated_rows(statement) -> int | None:
    if db.engine.dialect.name != "postgresql":
        return None
    compiled = statement.compile(dialect=db.engine.dialect)
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return int(plan[0]["Plan"]["Plan Rows"])


def _typed(spec, raw: str):
    if spec["type"] == "boolean":
        return raw
    if spec["type"] in F.NUMBERS:
        return raw.strip()
    return raw


def _equals(name: str, value):
    if db.engine.dialect.name == "postgresql":
        return field_expression(name) == _jsonb_value(value)
    return field_expression(name) == (int(value) if isinstance(value, bool) else value)


def _jsonb_value(value):
    return cast(literal(json.dumps(value, ensure_ascii=False)), JSONB)


def _order(sort: str, specs):
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name in _META_SORTS:
        column = _META_SORTS[name]
        return [column.desc() if descending else column.asc()]
    if name not in specs or not specs[name].get("filterable"):
        raise ApiError(400, "invalid_sort", f"字段 {name} 不能用于排序", "This field cannot be sorted on", field=name)
    expr = field_expression(name)
    return [expr.desc() if descending else expr.asc(), DefinedRecord.id.desc() if descending else DefinedRecord.id]


# --- one-click query --------------------------------------------------------------------------------------

class _Indexed:
    """A defined record as index_record() takes it: search_record() from the record and its definition."""

    def __init__(self, record: DefinedRecord, body):
        self.record, self.body = record, body

    def search_record(self) -> SearchableRecord:
        return search_record(self.record, self.body)


def search_record(record: DefinedRecord, body) -> SearchableRecord:
    specs = _specs(body)
    plain = _masked(specs, record.data)
    title_field = body.get("title_field")
    words = []
    for spec in body["fields"]:
        value = plain.get(spec["name"])
        if value is None or spec["type"] in F.PERSONAL or not (spec.get("searchable") or spec.get("filterable")):
            continue
        if spec["type"] in ("choice", "multi_choice"):
            value = "、".join(F.option_label(spec, v) for v in (value if isinstance(value, list) else [value]))
        words.append(f"{spec['label']} {value}")
    title = str(plain.get(title_field) or "") if title_field else ""
    return SearchableRecord(
        tool=record.tool_code, type="record", id=str(record.id), org_path=record.org_path,
        title=f"{body['name']} {record.serial or ''} {title}".strip()[:200], address=record.address or "",
        text=" ".join(filter(None, [*words, record.place_code or ""])), status=f"v{record.version}",
        updated_at=record.updated_at or utcnow())


def search_documents(code: str) -> Iterator[SearchableRecord]:
    """Every record of the defined tool, for `flask toolbox reindex` (a reindex source named by the code)."""
    from app.services.definitions import published

    bodies: dict[int, dict] = {}
    current = published(code)
    last = 0
    while True:
        rows = db.session.execute(select(DefinedRecord).where(DefinedRecord.tool_code == code,
                                                              DefinedRecord.id > last)
                                  .order_by(DefinedRecord.id).limit(1000)).scalars().all()
        if not rows:
            return
        for row in rows:
            body = bodies.get(row.version)
            if body is None:
                found = published(code, row.version) or current
                body = bodies[row.version] = found.body
            yield search_record(row, body)
        last = rows[-1].id


def reindex_for_work_item(sender, *, source_type=None, source_id=None, **_ignored) -> None:
    """A record's work item changed: keep its one-click query entry current."""
    from app.services.definitions import published

    if source_type != "record":
        return
    record = db.session.get(DefinedRecord, int(source_id))
    current = published(sender) if record is not None else None
    if current is not None:
        index_record(_Indexed(record, current.body))



# --- rules that need time to pass ------------------------------------------------------------------------

def deadline_sweep(now=None) -> int:
    """Evaluate every defined tool's `empty_past_deadline` rules on records that have not matched them yet
    (a field left empty does not write anything, so only a sweep can notice it); returns how many matched.
    THE CALLER COMMITS (the job does)."""
    from app.registry import current_registry
    from app.services.definitions import published

    matched = 0
    for code in [t.code for t in current_registry() if t.source == "definition"]:
        current = published(code)
        if current is None:
            continue
        deadline_rules = [r for r in current.body["rules"] if r.get("kind") == "empty_past_deadline"]
        if not deadline_rules:
            continue
        body = {**current.body, "rules": deadline_rules}
        names = [r["code"] for r in deadline_rules]
        done = select(DefinedRecordMatch.record_id).where(DefinedRecordMatch.tool_code == code,
                                                          DefinedRecordMatch.rule.in_(names))
        last = 0
        while True:
            rows = db.session.execute(select(DefinedRecord).where(
                DefinedRecord.tool_code == code, DefinedRecord.id > last, DefinedRecord.id.not_in(done))
                .order_by(DefinedRecord.id).limit(500)).scalars().all()
            if not rows:
                break
            for record in rows:
                creator = db.session.get(User, record.created_by_id) if record.created_by_id else None
                matched += len(apply_rules(record, body, creator, now=now))
            last = rows[-1].id
    return matched
