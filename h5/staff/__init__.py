"""The staff workbench (工作台): light apps in WeCom's in-app browser, at /h5/staff/.

Server-rendered pages on the shared page layer (app/web) that call the services directly:

    /h5/staff/                      home: my toolbox, inbox badges
    /h5/staff/items?box=…           inbox by box; /items/<id> the item, its timeline and my actions
    /h5/staff/items/<id>/act/<a>    the form of one action; /approvals the manager's decisions
    /h5/staff/query                 one-click query with facets
    /h5/staff/places, /places/<c>   Jing'an codes and posters (a scanned code opens its place)
    /h5/staff/stats                 the assessment dashboard of my scope (issue 17)
    /h5/staff/t/<tool>/…            each tool's screens, from its description (app/web/toolscreens.py)

Every view needs the WeCom OAuth session (app.web.session.require_login).
"""

from flask import Blueprint

from app.web import security_headers
from app.web.session import require_login

bp = Blueprint("staff", __name__, url_prefix="/h5/staff", template_folder="templates")
# 三员分立: the three administrators hold no business data, and work in the console instead.
require_login(bp, roles=("worker", "operator", "manager"), refusal="工作台供业务人员使用，管理员请使用管理控制台")
bp.after_request(security_headers)

from h5.staff import items, stats, tools, views  # noqa: E402,F401 - routes attach to bp


@bp.context_processor
def _layout():
    """Shared templates (web/list.html …) render inside the workbench frame, with its bottom tabs."""
    return {"layout": "staff/base.html", "home_url": "/h5/staff/"}
