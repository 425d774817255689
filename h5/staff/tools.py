"""Each tool's screens, mounted from its description after the tool access check."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request

from app.errors import ApiError
from app.services.toolbox import require_tool_access
from app.web.session import page_error
from app.web.submit import handle_form
from app.web.toolscreens import screens_for
from h5.staff import bp


def _screens(code: str):
    """The tool's screens if the user may open the tool (the same rule as its API)."""
    tool = require_tool_access(g.user, code)
    screens = screens_for(tool)
    if screens is None:
        abort(404)
    return tool, screens


def _page(render):
    try:
        return render()
    except ApiError as err:
        return page_error(err.status, err.message)


@bp.get("/t/<code>/")
def tool_home(code: str):
    """A tool's first screen."""
    return _page(lambda: redirect(_screens(code)[1].url(_screens(code)[1].home)))


def _args() -> dict:
    args = request.args.to_dict()
    try:
        args["page"] = max(1, min(int(args.get("page", 1)), 10_000))
    except ValueError:
        args["page"] = 1
    return args


@bp.get("/t/<code>/<name>")
def tool_list(code: str, name: str):
    """A tool's list (or overview page)."""
    def render():
        tool, screens = _screens(code)
        context = {"tool": tool, "back_url": "/h5/staff/"}
        if name in screens.lists:
            return render_template("web/list.html", list=screens.lists[name][1](g.user, _args()), **context)
        if name in screens.pages:
            return render_template("web/detail.html", detail=screens.pages[name][1](g.user, _args()), **context)
        abort(404)
    return _page(render)


@bp.get("/t/<code>/<name>/<int:ident>")
def tool_detail(code: str, name: str, ident: int):
    """One record of a tool."""
    def render():
        tool, screens = _screens(code)
        if name not in screens.details:
            abort(404)
        detail = screens.details[name](g.user, ident)
        return render_template("web/detail.html", detail=detail, tool=tool,
                               back_url=detail.back_url or screens.url(screens.home))
    return _page(render)


@bp.route("/t/<code>/f/<name>", methods=["GET", "POST"])
def tool_form(code: str, name: str):
    """A tool's form: shown, then applied once (idempotency key), with photos."""
    def render():
        tool, screens = _screens(code)
        if name not in screens.forms:
            abort(404)
        screen = screens.forms[name](g.user, _args())
        back = screen.back_url or screens.url(screens.home)
        return handle_form(screen.form, save=screen.save, fallback_url=back, initial=screen.initial,
                           tool=tool, back_url=back, before=screen.before)
    return _page(render)
