"""/h5/staff/stats: the assessment dashboard (考核统计) of my scope, charts drawn from local ECharts."""

from __future__ import annotations

from flask import g, render_template, request

from app.errors import ApiError
from app.services.assessment.dashboard import dashboard_data
from app.web.session import page_error
from h5.staff import bp


@bp.get("/stats")
def stats():
    """Indicators of the units below mine, the monthly trend beside the year before, the hot spots."""
    try:
        data = dashboard_data(g.user, request.args)
    except ApiError as err:
        return page_error(err.status, err.message)
    return render_template("staff/stats.html", title="考核统计", stats=data, back_url="/h5/staff/")
