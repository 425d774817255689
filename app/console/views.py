"""The console's home: the pages of my role."""

from __future__ import annotations

from flask import g, render_template

from app.console import ADMIN_ROLES, NAV, ROLE_NAMES, bp


@bp.get("/")
def home():
    """The menu of each admin role I hold."""
    sections = [(ROLE_NAMES[role], [n for n in NAV if n.role == role])
                for role in ADMIN_ROLES if g.user.has_role(role)]
    return render_template("console/home.html", title="管理控制台", sections=sections)
