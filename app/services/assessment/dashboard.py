"""What a dashboard shows (the workbench's 统计 page, the console's stats page): the indicator table at
the level below the caller's scope, the monthly trend beside the year before and the hot spots —
one call, the same services as the API, so a page never computes a figure of its own."""

from __future__ import annotations

from datetime import timedelta

from app.models.base import utcnow
from app.services.assessment.query import indicators, scope_roots
from app.services.assessment.trends import hotspots, trends
from app.services.workdays import TZ

CHART_INDICATORS = ("sign_on_time", "closed_on_time", "solved_rate", "satisfaction")


def default_group(user) -> str:
    """The district looks at its streets, a street at its grids, a grid at its categories."""
    depth = min(len([p for p in root.split("/") if p]) for root in scope_roots(user))
    return {1: "street", 2: "grid"}.get(depth, "category")


def dashboard_data(user, args) -> dict:
    """Everything the chart partial (web/stats_charts.html) draws; ApiError as the API would answer."""
    today = utcnow().astimezone(TZ).date()
    group = args.get("group") or default_group(user)
    period = {"from": args.get("from") or (today - timedelta(days=29)).isoformat(),
              "to": args.get("to") or today.isoformat()}
    common = {k: args[k] for k in ("unit", "tool", "category") if args.get(k)}
    table = indicators(user, {"group": group, **period, **common})
    year_start = today.replace(day=1) - timedelta(days=334)
    series = trends(user, {"interval": "month", "from": year_start.replace(day=1).isoformat(),
                           "to": today.isoformat(), **common})
    spots = hotspots(user, {"by": "category" if group != "category" else "grid", **period, **common, "limit": 8})
    return {"group": group, "period": period, "table": table, "trends": series, "hotspots": spots,
            "chart": {
                "units": [r["unit"]["name"] for r in table["rows"]],
                "indicators": [{"code": c, "name": next(i["name"] for i in table["indicators"] if i["code"] == c),
                                "values": [r["values"][c]["value"] for r in table["rows"]]}
                               for c in CHART_INDICATORS],
                "months": [p["period"] for p in series["points"]],
                "received": [p["received"] for p in series["points"]],
                "received_year_before": [p["year_before"]["received"] for p in series["points"]],
                "hot_names": [r["name"] for r in spots["by_volume"]],
                "hot_volumes": [r["volume"] for r in spots["by_volume"]],
            }}
