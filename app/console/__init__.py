"""The admin console (管理控制台) at /console/: desktop pages for the three separated administrators.

Server-rendered on the same services the API uses (never the server calling its own JSON API):

    /console/                 the pages of my role
    system admin    (admin)          tools, org units, places and posters, calendar, limits
    security admin  (security_admin) people and roles, staff import (dry run first), directory, sessions
    audit admin     (audit_admin)    the audit log, the hash-chain verification, CSV export

Entry is the WeCom OAuth cookie session (app.web.session.require_login); a person without one of the
three roles gets a Chinese 403 page. Every view is declared with the one role that may open it
(`page(...)`), and the check runs before the view, so no view can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, request

from app.errors import ApiError
from app.models.users import Role
from app.web import security_headers
from app.web.session import page_error, require_login

ADMIN_ROLES = (Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)
ROLE_NAMES = {Role.ADMIN: "系统管理员", Role.SECURITY_ADMIN: "安全管理员", Role.AUDIT_ADMIN: "审计管理员"}
ROLE_LABELS = {Role.WORKER: "网格员/巡查员", Role.OPERATOR: "值班员/派单员", Role.MANAGER: "负责人", **ROLE_NAMES}

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
require_login(bp, roles=ADMIN_ROLES, refusal="管理控制台仅供系统管理员、安全管理员、审计管理员使用")
bp.after_request(security_headers)


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    title: str
    role: str


# endpoint → the one role that may open it; views not listed here (but home) are refused.
ENDPOINT_ROLES: dict[str, str] = {}
NAV: list[NavEntry] = []
_OPEN_TO_EVERY_ADMIN = {"console.home"}


def page(rule: str, role: str, *, title: str | None = None, methods=("GET",)):
    """Register a console view for one admin role; with title it appears in that role's menu."""
    def decorate(view):
        endpoint = f"console.{view.__name__}"
        ENDPOINT_ROLES[endpoint] = role
        if title:
            NAV.append(NavEntry(endpoint, title, role))
        bp.add_url_rule(rule, view.__name__, view, methods=list(methods))
        return view
    return decorate


@bp.before_request
def _check_role():
    """After require_login: the page's own role (三员分立: each admin sees only their pages)."""
    if request.endpoint in _OPEN_TO_EVERY_ADMIN or request.endpoint == "console.static":
        return None
    role = ENDPOINT_ROLES.get(request.endpoint or "")
    if role is None or not g.user.has_role(role):
        needed = ROLE_NAMES.get(role, "管理员")
        return page_error(403, f"此页面仅供{needed}使用", title="无权访问")
    return None


@bp.errorhandler(ApiError)
def _api_error(err: ApiError):
    """A service's refusal, shown as a page in the console frame (never JSON)."""
    return page_error(err.status, err.message, title="无法完成")


@bp.context_processor
def _layout():
    user = g.get("user")
    nav = [n for n in NAV if user is not None and user.has_role(n.role)]
    return {"layout": "console/base.html", "home_url": "/console/", "nav": nav, "role_labels": ROLE_LABELS,
            "my_roles": [ROLE_NAMES[r] for r in ADMIN_ROLES if user is not None and user.has_role(r)]}


from app.console import audit_pages, security, system, views  # noqa: E402,F401 - routes attach to bp
