"""Trends and hot spots: monthly or weekly series beside the same period a year before, and the top
grids, categories and places by volume and by overdue share — the same facts, scope and period rules
as the indicators (query.py)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import case, func, select

from app.errors import ApiError
from app.extensions import db
from app.models.stats import MEASURE_COLUMNS, StatsItem
from app.models.workitem import WorkItem
from app.services.assessment.indicators import INDICATORS, value_of
from app.services.assessment.query import Period, daily_table, fact_filters, period_from, scope_roots, unit_from

INTERVALS = ("month", "week")
HOTSPOT_GROUPS = ("grid", "category", "place", "street")
SERIES_INDICATORS = ("sign_on_time", "closed_on_time", "satisfaction", "solved_rate", "overdue_open", "repeat_rate")


def _bucket(day: date, interval: str) -> str:
    if interval == "month":
        return f"{day.year}-{day.month:02d}"
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _year_after(day: date) -> date:
    return day.replace(year=day.year + 1, day=28) if (day.month, day.day) == (2, 29) else day.replace(
        year=day.year + 1)


def _daily_sums(table, period: Period, filters: list) -> dict[date, dict]:
    stmt = (select(table.day, *(func.sum(getattr(table, m)) for m in MEASURE_COLUMNS))
            .where(table.day >= period.first, table.day <= period.last, *filters)
            .group_by(table.day))
    return {row[0]: dict(zip(MEASURE_COLUMNS, row[1:], strict=True)) for row in db.session.execute(stmt)}


def _series(sums: dict[date, dict], period: Period, interval: str, shift=lambda d: d) -> dict[str, dict]:
    out: dict[str, dict] = {}
    day = period.first
    while day <= period.last:  # every bucket appears, with zeros where nothing happened
        out.setdefault(_bucket(shift(day), interval), {m: 0 for m in MEASURE_COLUMNS})
        day += timedelta(days=1)
    for day, measures in sums.items():
        bucket = out.setdefault(_bucket(shift(day), interval), {m: 0 for m in MEASURE_COLUMNS})
        for m, n in measures.items():
            bucket[m] += int(n or 0)
    return out


def _point(measures: dict) -> dict:
    return {"received": measures["received"], "closed": measures["closed"],
            **{code: value_of(INDICATORS[code], measures) for code in SERIES_INDICATORS}}


def trends(user, args) -> dict:
    """GET /api/v1/stats/trends: per month (or week), with the same bucket a year before."""
    interval = args.get("interval") or "month"
    if interval not in INTERVALS:
        raise ApiError(422, "unknown_interval", "interval 应为 month 或 week", "interval is month or week",
                       allowed=list(INTERVALS))
    period = period_from(args)
    roots = scope_roots(user)
    unit = unit_from(args.get("unit"), roots)
    table = daily_table(args)
    filters = fact_filters(table, roots, unit, args)
    now = _series(_daily_sums(table, period, filters), period, interval)
    before = Period(_year_before(period.first), _year_before(period.last))
    # A year before, filed under this year's bucket names (week numbers line up within a day or two).
    then = _series(_daily_sums(table, before, filters), before, interval, _year_after)
    points = [{"period": key, **_point(now[key]), "year_before": _point(then.get(key) or dict.fromkeys(
        MEASURE_COLUMNS, 0))} for key in sorted(now)]
    return {"interval": interval, "period": period.to_dict(), "year_before": before.to_dict(), "points": points}


def hotspots(user, args) -> dict:
    """GET /api/v1/stats/hotspots: top grids, categories, places or streets by volume and by overdue share."""
    group = args.get("by") or "grid"
    if group not in HOTSPOT_GROUPS:
        raise ApiError(422, "unknown_group", "by 无效", "Unknown hot-spot grouping", allowed=list(HOTSPOT_GROUPS))
    try:
        limit = max(1, min(int(args.get("limit") or 10), 50))
    except ValueError:
        raise ApiError(422, "invalid_limit", "limit 应为 1–50 的整数", "limit is 1..50") from None
    period = period_from(args)
    roots = scope_roots(user)
    unit = unit_from(args.get("unit"), roots)
    late = case((StatsItem.overdue_open > 0, 1), (StatsItem.closed > StatsItem.closed_on_time, 1), else_=0)
    key = {"grid": StatsItem.l2, "street": StatsItem.l1, "category": StatsItem.category,
           "place": func.coalesce(WorkItem.address, "")}[group]
    stmt = (select(key, func.count(), func.sum(late))
            .where(StatsItem.received_day >= period.first, StatsItem.received_day <= period.last,
                   *fact_filters(StatsItem, roots, unit, args))
            .group_by(key))
    if group == "place":
        stmt = stmt.join(WorkItem, WorkItem.id == StatsItem.work_item_id)
    rows = [{"key": k, "volume": n, "overdue": int(o or 0), "overdue_share": round(100 * int(o or 0) / n, 2)}
            for k, n, o in db.session.execute(stmt) if k]
    _name(group, rows)
    return {"by": group, "period": period.to_dict(),
            "by_volume": sorted(rows, key=lambda r: (-r["volume"], r["key"]))[:limit],
            "by_overdue_share": sorted(rows, key=lambda r: (-r["overdue_share"], -r["volume"], r["key"]))[:limit]}


def _name(group: str, rows: list[dict]) -> None:
    from app.models.org import OrgUnit
    from app.registry import current_registry

    if group in ("grid", "street"):
        names = dict(db.session.execute(select(OrgUnit.code, OrgUnit.name).where(
            OrgUnit.code.in_([r["key"] for r in rows]))).all())
    elif group == "category":
        names = {c.code: c.name for t in current_registry() for c in t.manifest.categories}
    else:
        names = {}
    for row in rows:
        row["name"] = names.get(row["key"], row["key"])
