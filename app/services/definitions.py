"""Tools defined without code: drafts, publishing with a change report, and the registry entry of each.

    draft = create_draft(body, actor)              # 422 listing every problem; 409 if the code is taken
    update_draft(code, body, actor)
    report = publish(code, actor, dry_run=True)    # what publishing would do to existing records
    publish(code, actor, resolutions={"count": {"action": "convert", "default": 0}})
    published(code)                                # the ToolDefinitionVersion in force, or None

A published version never changes; publishing again writes a new version. Publishing over existing
records refuses (409 definition_change_unresolved, with the report) while any value would be lost, unless
each such field has an explicit resolution: keep (the old value stays readable, under the old version, in the
record's `legacy`), convert (values that cannot convert take the stated `default`), or clear (drop them;
`expected_count`, when given, must equal the count the report shows). The records and the new version
are written in one transaction: never a partial change. THE CALLER COMMITS (the API views do).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.exc import SQLAlchemyError

from app.errors import ApiError
from app.extensions import db
from app.models.definitions import DefinedRecord, ToolDefinition, ToolDefinitionVersion
from app.registry import CODE_PATTERN, Category, Manifest, PlaceKind, Tool, ToolError, current_registry
from app.services import audit
from app.services import fields as F
from app.services.after_commit import after_commit
from app.services.rules import RuleError, check_fields, parse_rule
from app.terms import KNOWN_ROLES, TIME_LIMIT_KINDS

log = logging.getLogger(__name__)

SOURCE = "definition"
DEFAULT_ROLES = ["worker", "operator", "manager"]
RESOLUTIONS = ("keep", "convert", "clear")


# --- the definition's shape ---------------------------------------------------------------------------

def normalise(body: Mapping) -> dict:
    """The stored form of a definition: every key present, defaults filled in."""
    body = copy.deepcopy(dict(body))
    raw_fields = body.get("fields") if isinstance(body.get("fields"), list) else []
    field_names = [f.get("name") for f in raw_fields if isinstance(f, Mapping)]
    out = {
        "code": body.get("code"), "name": body.get("name"), "icon": body.get("icon") or "form",
        "description": body.get("description") or "", "roles": body.get("roles") or list(DEFAULT_ROLES),
        "fields": body.get("fields") or [],
        "sections": body.get("sections") or [{"title": "基本信息", "fields": field_names}],
        "list_columns": body.get("list_columns") or field_names[:4],
        "sort": body.get("sort") or {"field": "created_at", "order": "desc"},
        "categories": body.get("categories") or [], "rules": body.get("rules") or [],
        "title_field": body.get("title_field") or next(iter(field_names), None),
        "place_kinds": body.get("place_kinds") or [],
    }
    for spec in raw_fields:
        if isinstance(spec, Mapping) and isinstance(spec.get("type"), str) and spec["type"] in F.PERSONAL:
            spec["filterable"] = spec["searchable"] = False  # personal data is never a filter or a search term
    return out


def _known(name, specs: Mapping) -> bool:
    """A field name that the definition declares (a client may send anything in its place, even a list)."""
    return isinstance(name, str) and name in specs


_LISTS = ("roles", "fields", "sections", "list_columns", "categories", "rules", "place_kinds")


def problems_of(body: Mapping) -> list[str]:
    """Every problem (Chinese) with a normalised definition."""
    problems = [f"{key} 须为列表" for key in _LISTS if not isinstance(body.get(key), list)]
    if not isinstance(body.get("sort"), Mapping):
        problems.append("sort 须为对象")
    if problems:
        return problems
    code = body.get("code")
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        problems.append("工具编码 code 须为小写字母开头的 2–40 位字母、数字或下划线")
    if not body.get("name"):
        problems.append("请填写工具名称 name")
    unknown = {str(r) for r in body["roles"]} - KNOWN_ROLES  # str(): a client may send anything (the self-fuzz does)
    if not body["roles"] or unknown:
        problems.append(f"角色 roles 无效：{'、'.join(sorted(unknown)) or '不能为空'}")
    problems += F.check_specs(body["fields"])
    if problems:
        return problems
    specs = {f["name"]: f for f in body["fields"]}
    problems += [f"列表列 list_columns 中的字段 {n} 不存在" for n in body["list_columns"] if not _known(n, specs)]
    for section in body["sections"]:
        if not isinstance(section, Mapping) or not isinstance(section.get("fields") or [], list):
            problems.append("分区 sections 须为 {title, fields} 对象")
            continue
        problems += [f"分区 {section.get('title')} 中的字段 {n} 不存在" for n in section.get("fields") or []
                     if not _known(n, specs)]
    sort_field = body["sort"].get("field")
    sort_field = sort_field if isinstance(sort_field, str) else repr(sort_field)
    if sort_field not in ("created_at", "updated_at", "id") and not specs.get(sort_field, {}).get("filterable"):
        problems.append(f"排序字段 {sort_field} 须为可筛选字段或 created_at")
    if sum(1 for f in body["fields"] if f["type"] == "place") > 1:
        problems.append("一个工具至多一个静安码字段")
    problems += _category_problems(body["categories"])
    for kind in body["place_kinds"]:
        if not isinstance(kind, Mapping) or not CODE_PATTERN.match(str(kind.get("code") or "")) \
                or not kind.get("name"):
            problems.append("地点类型 place_kinds 须有编码 code 和名称 name")
    category_codes = {c.get("code") for c in body["categories"] if isinstance(c, Mapping)}
    types = {n: f["type"] for n, f in specs.items()}
    groups = {n: {x["name"]: x["type"] for x in f["fields"]} for n, f in specs.items() if f["type"] == "group"}
    for raw in body["rules"]:
        try:
            rule = parse_rule(raw)
        except RuleError as err:
            problems += err.problems
            continue
        problems += check_fields(rule, types, groups)
        if rule.category not in category_codes:
            problems.append(f"规则 {rule.code}：类别 {rule.category} 未在 categories 中声明")
    return problems


def _category_problems(categories) -> list[str]:
    problems, seen = [], set()
    for c in categories:
        if not isinstance(c, Mapping) or not CODE_PATTERN.match(str(c.get("code") or "")) or not c.get("name"):
            problems.append("工单类别须有编码 code 和名称 name")
            continue
        if c["code"] in seen:
            problems.append(f"工单类别 {c['code']} 重复")
        seen.add(c["code"])
        if c.get("limit", "5 working days") not in TIME_LIMIT_KINDS:
            problems.append(f"工单类别 {c['code']} 的时限 limit 须为 {'、'.join(sorted(TIME_LIMIT_KINDS))} 之一")
    return problems


def validated(body) -> dict:
    if not isinstance(body, Mapping):
        raise ApiError(400, "bad_request", "请求须为 JSON 对象", "The body must be a JSON object")
    body = normalise(body)
    problems = problems_of(body)
    if problems:
        raise ApiError(422, "definition_invalid", "工具定义有误：" + "；".join(problems[:5]),
                       "The tool definition is invalid", problems=problems)
    return body


# --- drafts -------------------------------------------------------------------------------------------

def get_definition(code: str) -> ToolDefinition:
    row = db.session.execute(select(ToolDefinition).where(ToolDefinition.code == code)).scalar_one_or_none()
    if row is None:
        raise ApiError(404, "definition_not_found", "工具定义不存在", "No such tool definition")
    return row


def create_draft(body, actor) -> ToolDefinition:
    body = validated(body)
    code = body["code"]
    existing = current_registry().get(code)
    taken = db.session.execute(select(ToolDefinition.id).where(ToolDefinition.code == code)).first()
    if taken or (existing is not None and existing.source != SOURCE):
        raise ApiError(409, "tool_code_taken", "该工具编码已被使用", "This tool code is taken")
    row = ToolDefinition(code=code, draft=body, updated_by=_who(actor))
    db.session.add(row)
    db.session.flush()
    audit.record("tool_definition.create", target_type="tool_definition", target_id=code, actor=actor,
                 detail={"fields": len(body["fields"])})
    return row


def update_draft(code: str, body, actor) -> ToolDefinition:
    row = get_definition(code)
    body = validated({**dict(body or {}), "code": code})
    row.draft, row.updated_by = body, _who(actor)
    audit.record("tool_definition.update", target_type="tool_definition", target_id=code, actor=actor,
                 detail={"fields": len(body["fields"])})
    return row


def _who(actor) -> str | None:
    return getattr(actor, "wecom_userid", None) or (actor if isinstance(actor, str) else None)


def published(code: str, version: int | None = None) -> ToolDefinitionVersion | None:
    """The version in force (or a given one) of a defined tool."""
    if version is None:
        version = db.session.execute(select(ToolDefinition.published_version)
                                     .where(ToolDefinition.code == code)).scalar_one_or_none()
        if version is None:
            return None
    return db.session.execute(select(ToolDefinitionVersion).where(
        ToolDefinitionVersion.code == code, ToolDefinitionVersion.version == version)).scalar_one_or_none()


def definition_dict(row: ToolDefinition) -> dict:
    current = published(row.code)
    return {"code": row.code, "draft": row.draft, "published_version": row.published_version,
            "published": current.body if current else None, "updated_by": row.updated_by,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None}


# --- the change report ----------------------------------------------------------------------------------

def _specs(body) -> dict[str, dict]:
    return {f["name"]: f for f in body["fields"]}


def change_report(old: Mapping | None, new: Mapping, code: str, resolutions: Mapping | None = None) -> dict:
    """What publishing `new` over the records of `code` (written under `old`) would do, field by field.

    Each field with a problem lists the records it touches and what it needs: `lost` counts values that
    would be lost (removed field, failed conversion, failing the new rules), `sample` a few record ids."""
    resolutions = resolutions or {}
    total = db.session.execute(select(func.count()).select_from(DefinedRecord)
                               .where(DefinedRecord.tool_code == code)).scalar_one()
    changes = _field_changes(old, new) if old else []
    fields_report = []
    for change in changes:
        fields_report.append(_field_report(code, change, resolutions.get(change["field"])))
    unresolved = [f["field"] for f in fields_report if f["lost"] and not f.get("resolution")]
    return {"records": total, "fields": fields_report, "unresolved": unresolved,
            "would_lose": sum(f["lost"] for f in fields_report if not f.get("resolution")),
            "can_publish": not unresolved}


def _field_changes(old: Mapping, new: Mapping) -> list[dict]:
    """Fields whose stored values the new version reads differently: removed, retyped, or stricter."""
    old_specs, new_specs = _specs(old), _specs(new)
    changes = []
    for name, spec in old_specs.items():
        target = new_specs.get(name)
        if target is None:
            changes.append({"field": name, "change": "removed", "old": spec, "new": None})
        elif _stricter_or_retyped(spec, target):
            changes.append({"field": name, "change": "retyped" if spec["type"] != target["type"] else "stricter",
                            "old": spec, "new": target})
    for name, spec in new_specs.items():
        if name not in old_specs and spec.get("required") and spec["type"] != "serial":
            changes.append({"field": name, "change": "added_required", "old": None, "new": spec})
    return changes


_RULE_KEYS = ("type", "required", "min", "max", "min_length", "max_length", "pattern", "options", "fields")


def _stricter_or_retyped(old: Mapping, new: Mapping) -> bool:
    return any(old.get(k) != new.get(k) for k in _RULE_KEYS)


def _records_of(code: str, batch: int = 2000):
    last = 0
    while True:
        rows = db.session.execute(select(DefinedRecord).where(DefinedRecord.tool_code == code,
                                                              DefinedRecord.id > last)
                                  .order_by(DefinedRecord.id).limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _carry(change: Mapping, value):
    """(ok, new value) of one stored value under the changed field."""
    if change["change"] == "removed":
        return value is None, None
    if change["change"] == "added_required":
        return False, None
    ok, converted = F.convert(value, change["old"], change["new"])
    if not ok:
        return False, None
    if converted is None:
        return not change["new"].get("required"), None
    if change["new"]["type"] in F.PERSONAL:
        return True, converted                      # stored encrypted: its form does not change
    cleaned, error = F.clean(change["new"], converted)
    return (error is None), cleaned


def _field_report(code: str, change: Mapping, resolution) -> dict:
    name = change["field"]
    lost, converted, sample = 0, 0, []
    for record in _records_of(code):
        value = record.data.get(name)
        if value is None and change["change"] != "added_required":
            continue
        ok, new_value = _carry(change, value)
        if not ok:
            lost += 1
            if len(sample) < 10:
                sample.append(record.id)
        elif new_value != value:
            converted += 1
    report = {"field": name, "change": change["change"], "lost": lost, "converted": converted,
              "sample_record_ids": sample,
              "old_type": (change["old"] or {}).get("type"), "new_type": (change["new"] or {}).get("type")}
    if lost:
        report["message"] = f"字段 {name}：{lost} 条记录的值无法在新版本中保留"
        if resolution is not None:
            report["resolution"] = _check_resolution(name, change, resolution, lost)
    return report


def _check_resolution(name: str, change: Mapping, resolution, lost: int) -> dict:
    if not isinstance(resolution, Mapping) or resolution.get("action") not in RESOLUTIONS:
        raise ApiError(422, "resolution_invalid", f"字段 {name} 的处理方式须为 keep、convert 或 clear",
                       "A resolution's action must be keep, convert or clear", field=name)
    action = resolution["action"]
    if action == "convert":
        if change["new"] is None:
            raise ApiError(422, "resolution_invalid", f"字段 {name} 已删除，不能转换",
                           "A removed field cannot be converted", field=name)
        default, error = F.clean(change["new"], resolution.get("default"))
        if error or (default is None and change["new"].get("required")):
            raise ApiError(422, "resolution_invalid", f"字段 {name} 的转换默认值无效", "The default value is invalid",
                           field=name)
        return {"action": "convert", "default": default}
    if action == "clear" and resolution.get("expected_count") not in (None, lost):
        raise ApiError(409, "resolution_count_changed", f"字段 {name} 待清除的记录数已变为 {lost}，请重新确认",
                       "The number of values to clear has changed", field=name, count=lost)
    return {"action": action}


def _apply(code: str, old_version: int, new_version: int, changes: list[dict], resolved: Mapping) -> int:
    """Rewrite the records a change touches under the new version; returns how many were rewritten."""
    if not changes:
        return 0
    rewritten = 0
    for record in _records_of(code):
        data, legacy, touched = dict(record.data), dict(record.legacy or {}), False
        for change in changes:
            name = change["field"]
            value = data.get(name)
            if value is None and change["change"] != "added_required":
                continue
            ok, new_value = _carry(change, value)
            if ok:
                if new_value != value:
                    data[name], touched = new_value, True
                    if new_value is None:
                        data.pop(name)
                continue
            action = resolved[name]["action"]
            touched = True
            if action == "keep" and value is not None:
                legacy[name] = {"version": record.version, "value": value}
            if action == "convert":
                data[name] = resolved[name]["default"]
            else:
                data.pop(name, None)
        if touched:
            record.data, record.legacy, record.version = data, legacy, new_version
            rewritten += 1
    return rewritten


# --- publishing ---------------------------------------------------------------------------------------

def publish(code: str, actor, *, dry_run: bool = False, resolutions: Mapping | None = None) -> dict:
    """Publish the draft as a new version, or (dry_run) say what that would do. Refuses (409) while the
    change report shows values that would be lost without a resolution."""
    row = db.session.execute(select(ToolDefinition).where(ToolDefinition.code == code)
                             .with_for_update()).scalar_one_or_none()
    if row is None:
        raise ApiError(404, "definition_not_found", "工具定义不存在", "No such tool definition")
    new = validated(row.draft)
    current = published(code)
    old = current.body if current else None
    report = change_report(old, new, code, resolutions)
    report.update(code=code, from_version=row.published_version, to_version=(row.published_version or 0) + 1,
                  dry_run=dry_run)
    if dry_run:
        return report
    if not report["can_publish"]:
        raise ApiError(409, "definition_change_unresolved",
                       "发布将导致已有记录的数据丢失，请为以下字段选择处理方式：" + "、".join(report["unresolved"]),
                       "Publishing would lose existing values; resolve each listed field", report=report)
    _ensure_tool_fits(new)
    resolved = {f["field"]: f["resolution"] for f in report["fields"] if f.get("resolution")}
    version = report["to_version"]
    report["rewritten"] = _apply(code, row.published_version or 0, version,
                                 _field_changes(old, new) if old else [], resolved)
    db.session.add(ToolDefinitionVersion(definition_id=row.id, code=code, version=version, body=new,
                                         change_report=report, published_by=_who(actor)))
    row.published_version = version
    db.session.flush()
    ensure_indexes(code, new)
    audit.record("tool_definition.publish", target_type="tool_definition", target_id=code, actor=actor,
                 detail={"version": version, "rewritten": report["rewritten"], "resolutions": resolved})
    registry = current_registry()
    after_commit(lambda: register(registry, new, version))  # only a committed version is a tool
    return report


def _ensure_tool_fits(body: Mapping) -> None:
    """The registry takes the tool (its categories, roles), or 422 — before anything is written."""
    try:
        from app.registry import validate

        tool = tool_for(body, 0)
        validate(tool)
        registry = current_registry()
        for kind in tool.manifest.place_kinds:
            owner = registry.place_kind_owner(kind.code)
            if owner is not None and owner.code != tool.code:
                raise ToolError(f"地点类型 {kind.code} 已由工具 {owner.code} 声明")
    except ToolError as err:
        raise ApiError(422, "definition_invalid", "工具定义有误", "The tool definition is invalid",
                       problems=[str(err)]) from err


# --- indexes -------------------------------------------------------------------------------------------

def index_name(code: str, field: str, prefix: str = "ixd") -> str:
    return f"{prefix}_{code}_{field}"[:63]


def ensure_indexes(code: str, body: Mapping) -> list[str]:
    """An expression index on each filterable field (PostgreSQL; SQLite scans, as befits its size), partial
    to the tool's records, with the id for the newest-first sort. Names and codes are validated identifiers."""
    if db.engine.dialect.name != "postgresql":
        return []
    expression_statistics = db.session.execute(text("SHOW server_version_num")).scalar_one() >= "140000"
    made = []
    for spec in body["fields"]:
        if not spec.get("filterable"):
            continue
        name = index_name(code, spec["name"])
        db.session.execute(text(
            f"CREATE INDEX IF NOT EXISTS {name} ON defined_record ((data -> '{spec['name']}'), id) "
            f"WHERE tool_code = '{code}'"))
        made.append(name)
        if expression_statistics:
            # Without them the planner guesses 0.5% for `data -> 'f' = v` (a partial index gathers no statistics
            # of its expression) and sorts a bitmap scan of every match instead of walking the index in order.
            db.session.execute(text(f"CREATE STATISTICS IF NOT EXISTS {index_name(code, spec['name'], 'ixs')} "
                                    f"ON (data -> '{spec['name']}') FROM defined_record"))
    return made


# --- the registry -------------------------------------------------------------------------------------

def tool_for(body: Mapping, version: int) -> Tool:
    """A defined tool as the registry knows every tool: manifest, access rule, search source."""
    from app.services import defined_records

    manifest = Manifest(
        code=body["code"], name=body["name"], icon=body["icon"], version=str(version or 0),
        roles=tuple(body["roles"]), description=body.get("description") or "", search_types=("record",),
        place_kinds=tuple(PlaceKind(k["code"], k["name"]) for k in body.get("place_kinds") or ()),
        categories=tuple(Category(c["code"], c["name"], route_to=c.get("route_to", "street"),
                                  limit=c.get("limit", "5 working days")) for c in body["categories"]))
    code = body["code"]
    return Tool(manifest=manifest, source=SOURCE, search_documents=lambda: defined_records.search_documents(code),
                on_work_item_changed=None)


def register(registry, body: Mapping, version: int) -> Tool:
    tool = tool_for(body, version)
    registry.put_defined(tool)
    return tool


def refresh_registry(registry) -> int:
    """Bring the registry up to date with the committed published definitions; returns how many changed.

    Reads on a connection of its own, never the caller's session (whose transaction it must not touch), and
    does nothing while the tables do not exist yet (before `flask db upgrade`)."""
    in_force = (select(ToolDefinitionVersion.code, ToolDefinitionVersion.version)
                .join(ToolDefinition, (ToolDefinition.code == ToolDefinitionVersion.code)
                      & (ToolDefinition.published_version == ToolDefinitionVersion.version)))
    from app.services import local_cache

    def load_in_force() -> dict:
        with db.engine.connect() as conn:
            return dict(conn.execute(in_force).all())

    try:
        # Cached per process behind the version a publish bumps (Redis), so a request reads nothing.
        wanted = local_cache.cache("tool_definitions").get_or_load("in_force", load_in_force)
        stale = [code for code, version in wanted.items()
                 if registry.get(code) is None or registry.get(code).manifest.version != str(version)]
        bodies = {}
        if stale:
            with db.engine.connect() as conn:
                bodies = dict(conn.execute(select(ToolDefinitionVersion.code, ToolDefinitionVersion.body).where(
                    tuple_(ToolDefinitionVersion.code, ToolDefinitionVersion.version).in_(
                        [(c, wanted[c]) for c in stale]))).all())
    except SQLAlchemyError:
        log.debug("tool definitions not readable yet", exc_info=True)
        return 0
    changed = 0
    for tool in list(registry):
        if tool.source == SOURCE and tool.code not in wanted:
            registry.remove_defined(tool.code)
            changed += 1
    for code in stale:
        if registry.get(code) is not None and registry.get(code).source != SOURCE:
            log.error("tool definition %s: the code is taken by %s", code, registry.get(code).source)
            continue
        try:
            register(registry, bodies[code], wanted[code])
            changed += 1
        except ToolError:
            log.exception("tool definition %s v%s cannot be registered", code, wanted[code])
    return changed


def init_app(app) -> None:
    """Defined tools join the registry: refreshed from the database, at most every DEFINITIONS_REFRESH_SECONDS."""
    from app.services import definition_jobs  # noqa: F401 - registers the periodic deadline sweep

    registry = app.extensions["toolbox"]
    registry.refresher = refresh_registry
    registry.refresh_every = float(app.config.get("DEFINITIONS_REFRESH_SECONDS", 0 if app.testing else 2))


def definition_of(code: str) -> dict:
    """The published body of a defined tool, or 404."""
    current = published(code)
    if current is None:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    return current.body
