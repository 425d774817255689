"""Indicators per unit and period, and the items behind each figure (the drill-down).

Both read the same facts with the same scope and period rules: the indicators sum stats_daily, the
drill-down lists the stats_item rows whose measure is set on an anchor day inside the period.

Scope: a caller sees the units inside their business data scope (scope.py); assessment goes down
to grids, so a scope below a grid (a committee worker) sees no assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, true

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgLevel, OrgUnit
from app.models.stats import MEASURE_COLUMNS, StatsDaily, StatsItem
from app.models.workitem import WorkItem
from app.registry import current_registry
from app.services.assessment.facts import units_of
from app.services.assessment.indicators import INDICATORS, MEASURE_ANCHOR, SCORE, score_of, value_of, weights_from
from app.services.scope import scope_paths
from app.services.workdays import TZ

GROUPS = {"street": OrgLevel.STREET, "department": OrgLevel.DEPARTMENT, "grid": OrgLevel.GRID,
          "tool": None, "category": None}
PARTS = ("numerator", "denominator")


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def to_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _invalid(code: str, zh: str, en: str, **details) -> ApiError:
    return ApiError(422, code, zh, en, **details)


def period_from(args) -> Period:
    """from/to (YYYY-MM-DD, Beijing); default the last 30 days. 422 when unreadable, reversed or too long."""
    from app.models.base import utcnow

    today = utcnow().astimezone(TZ).date()
    try:
        first = date.fromisoformat(args["from"]) if args.get("from") else today - timedelta(days=29)
        last = date.fromisoformat(args["to"]) if args.get("to") else today
    except ValueError:
        raise _invalid("invalid_period", "日期格式应为 YYYY-MM-DD", "Dates are YYYY-MM-DD",
                       fields={"from": ["YYYY-MM-DD"], "to": ["YYYY-MM-DD"]}) from None
    if first > last:
        raise _invalid("invalid_period", "开始日期不能晚于结束日期", "'from' is after 'to'",
                       fields={"from": [f"<= {last.isoformat()}"]})
    longest = current_app.config["ASSESSMENT_MAX_PERIOD_DAYS"]
    if (last - first).days + 1 > longest:
        raise _invalid("period_too_long", f"统计期最长 {longest} 天", f"A period is at most {longest} days",
                       max_days=longest)
    return Period(first, last)


def indicator_from(code: str | None, *, drillable: bool = False):
    valid = sorted(INDICATORS) if drillable else sorted([*INDICATORS, SCORE.code])
    if code not in valid:
        raise _invalid("unknown_indicator", "没有该指标", "No such indicator", allowed=valid,
                       fields={"indicator": [f"one of {valid}"]})
    return INDICATORS.get(code, SCORE)


def group_from(code: str | None) -> str:
    if code not in GROUPS:
        raise _invalid("unknown_group", "分组方式无效", "Unknown group", allowed=list(GROUPS),
                       fields={"group": [f"one of {list(GROUPS)}"]})
    return code


# --- scope ------------------------------------------------------------------------------------------

def _out_of_scope(en: str = "This unit is outside your data scope") -> ApiError:
    return ApiError(403, "out_of_scope", "该单位不在您的数据范围内", en)


def _path_clause(table, path: str):
    """The rows of a table with l1/l2 columns that lie in the subtree of this unit path (grid depth at most)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) > 3:
        return None
    l1, l2 = units_of(path)
    clause = true()
    if l1:
        clause = and_(clause, table.l1 == l1)
    if l2:
        clause = and_(clause, table.l2 == l2)
    return clause


def scope_roots(user) -> list[str]:
    """The caller's subtree roots that assessment can show (grid level or above); 403 when none."""
    roots = [p for p in scope_paths(user) if len([s for s in p.split("/") if s]) <= 3]
    if not roots:
        raise ApiError(403, "no_assessment_scope", "您没有可查看的考核数据范围",
                       "You have no data scope that assessment covers")
    return roots


def _scope_clause(table, roots: list[str]):
    return or_(*(_path_clause(table, root) for root in roots))


def unit_from(code: str | None, roots: list[str]) -> OrgUnit | None:
    """The ?unit= org unit: 422 when unknown (or below grids), 403 outside the caller's scope."""
    if not code:
        return None
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None or len([s for s in unit.path.split("/") if s]) > 3:
        raise _invalid("unknown_unit", "没有该单位（考核统计至网格）", "No such unit (assessment goes down to grids)",
                       fields={"unit": ["区、街镇、部门或网格的代码 a district, street, department or grid code"]})
    if not any(unit.path.startswith(root) for root in roots):
        raise _out_of_scope()
    return unit


def _filters(table, roots: list[str], unit: OrgUnit | None, args) -> list:
    clauses = [_scope_clause(table, roots)]
    if unit is not None:
        clauses.append(_path_clause(table, unit.path))
    for key in ("tool", "category"):
        if args.get(key):
            clauses.append(getattr(table, key) == args[key])
    return clauses


# --- the indicators -----------------------------------------------------------------------------------

def _row_units(group: str, roots: list[str], unit: OrgUnit | None) -> list[dict]:
    """The rows a group shows: org units of its level inside scope (and ?unit=), or the tools / categories."""
    if GROUPS[group] is None:
        out: dict[str, str] = {}
        for tool in current_registry():
            if group == "tool":
                out[tool.manifest.code] = tool.manifest.name
            else:
                for cat in tool.manifest.categories:
                    out.setdefault(cat.code, cat.name)
        return [{"code": c, "name": n} for c, n in out.items()]
    within = [unit.path] if unit is not None else roots
    units = db.session.execute(select(OrgUnit).where(OrgUnit.level == GROUPS[group])
                               .order_by(OrgUnit.path)).scalars().all()
    rows = [{"code": u.code, "name": u.name} for u in units
            if any(u.path.startswith(root) for root in within) and any(u.path.startswith(r) for r in roots)]
    if not rows:
        raise _out_of_scope("This grouping lies outside your data scope")
    return rows


def _key_column(group: str):
    return {"street": StatsDaily.l1, "department": StatsDaily.l1, "grid": StatsDaily.l2,
            "tool": StatsDaily.tool, "category": StatsDaily.category}[group]


def indicators(user, args) -> dict:
    """GET /api/v1/stats/indicators: every indicator per unit of the group, in scope, over the period."""
    group = group_from(args.get("group") or "street")
    period = period_from(args)
    roots = scope_roots(user)
    unit = unit_from(args.get("unit"), roots)
    config = current_app.config
    try:
        preset, weights = weights_from(args.get("preset"), args.get("weights"), config["ASSESSMENT_SCORE_PRESET"])
    except ValueError as err:
        from app.services.assessment.indicators import SCORE_PRESETS
        raise _invalid("unknown_weights", "权重设置无效", f"Unknown preset or indicator {err}",
                       allowed_presets=sorted(SCORE_PRESETS),
                       allowed_indicators=sorted(c for c, i in INDICATORS.items() if i.kind == "rate")) from None
    key = _key_column(group)
    stmt = (select(key, *(func.sum(getattr(StatsDaily, m)) for m in MEASURE_COLUMNS))
            .where(StatsDaily.day >= period.first, StatsDaily.day <= period.last,
                   *_filters(StatsDaily, roots, unit, args))
            .group_by(key))
    sums = {row[0]: dict(zip(MEASURE_COLUMNS, row[1:], strict=True)) for row in db.session.execute(stmt)}
    minimum = config["ASSESSMENT_MIN_SAMPLE"]
    rows = []
    for row_unit in _row_units(group, roots, unit):
        measures = sums.get(row_unit["code"], {})
        values = {code: value_of(ind, measures) for code, ind in INDICATORS.items()}
        values[SCORE.code] = {"value": score_of(values, weights), "numerator": None, "denominator": None}
        sample = int(measures.get("received") or 0)
        rows.append({"unit": row_unit, "sample": sample, "ranked": sample >= minimum, "values": values})
    _rank(rows)
    return {"group": group, "period": period.to_dict(), "min_sample": minimum,
            "score": {"preset": preset, "weights": weights},
            "indicators": [i.to_dict() for i in (*INDICATORS.values(), SCORE)], "rows": rows}


def _rank(rows: list[dict]) -> None:
    ranked = sorted((r for r in rows if r["ranked"] and r["values"]["score"]["value"] is not None),
                    key=lambda r: -r["values"]["score"]["value"])
    for row in rows:
        row["rank"] = None
    for n, row in enumerate(ranked, start=1):
        row["rank"] = n


# --- the drill-down -------------------------------------------------------------------------------------

def drill_down_statement(user, args):
    """The work items counted in one figure: ?indicator=&part=numerator|denominator&unit=&from=&to=."""
    indicator = indicator_from(args.get("indicator"), drillable=True)
    part = args.get("part") or "numerator"
    if part not in PARTS:
        raise _invalid("unknown_part", "part 应为 numerator 或 denominator", "part is numerator or denominator",
                       allowed=list(PARTS))
    period = period_from(args)
    roots = scope_roots(user)
    unit = unit_from(args.get("unit"), roots)
    measure = indicator.numerator if part == "numerator" else indicator.denominator
    if indicator.kind == "average" or measure is None:  # the items behind an average are those it averages
        measure = indicator.denominator or indicator.numerator
    day = getattr(StatsItem, f"{MEASURE_ANCHOR[measure]}_day")
    return (select(WorkItem).join(StatsItem, StatsItem.work_item_id == WorkItem.id)
            .where(getattr(StatsItem, measure) > 0, day >= period.first, day <= period.last,
                   *_filters(StatsItem, roots, unit, args))
            .order_by(WorkItem.id))
