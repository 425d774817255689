"""The registry checks tool access before every view of every tool (issue 11 item 4, issue 14).

One walk over the app's URL map: every route of every registered tool's staff API, with every
method, asked by someone who may not open the tool, must answer 403 tool_not_available before the
view runs. A new tool's routes are in the walk without anyone adding them.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models.org import OrgUnit
from app.services.toolbox import set_enabled

NOBODY = "ja-auditor"          # a role no tool admits (the audit admin reads the audit log only)
DISABLED = "ja01g01-worker"    # a worker whose street has every tool switched off


def tool_routes(app) -> list[tuple[str, str, str]]:
    """(tool code, method, URL) of every route of every registered tool's blueprint."""
    registry, urls = app.extensions["toolbox"], app.url_map.bind("localhost")
    routes = []
    for rule in app.url_map.iter_rules():
        tool = registry.tool_of_endpoint(rule.endpoint)
        if tool is None:
            continue
        url = urls.build(rule.endpoint, {name: 1 for name in rule.arguments})  # any id: the check comes first
        routes += [(tool.code, method, url) for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]
    return routes


def reachable(app, client, headers) -> list[str]:
    """Tool routes that did not refuse the caller with 403 tool_not_available."""
    leaks = []
    for code, method, url in tool_routes(app):
        response = client.open(url, method=method, headers=headers, json={})
        error = (response.get_json(silent=True) or {}).get("error", {})
        if response.status_code != 403 or error.get("code") != "tool_not_available":
            leaks.append(f"{method} {url} ({code}) answered {response.status_code} {error.get('code')}")
    return leaks


def switch_everything_off(app, unit_code: str) -> None:
    with app.app_context():
        unit = db.session.execute(db.select(OrgUnit).where(OrgUnit.code == unit_code)).scalar_one()
        for tool in app.extensions["toolbox"]:
            set_enabled(tool.code, unit, False, "test")
        db.session.commit()


@pytest.fixture(params=["built-in tools", "sample and entry-point tools"])
def tool_app(request, app, make_app):
    if request.param == "built-in tools":
        return app
    request.getfixturevalue("installed_plugin")
    return make_app(TOOLBOX_PACKAGES=("tests.sample_tools",))


def test_every_tool_route_refuses_whoever_may_not_open_the_tool(tool_app, district, auth):
    routes = tool_routes(tool_app)
    codes = {code for code, _, _ in routes}
    expected = {t.code for t in tool_app.extensions["toolbox"] if t.blueprint is not None}
    assert codes == expected and len(routes) >= len(expected)
    client = tool_app.test_client()
    assert reachable(tool_app, client, auth.headers(NOBODY)) == []
    switch_everything_off(tool_app, "JA01")
    assert reachable(tool_app, client, auth.headers(DISABLED)) == []


def test_the_walk_finds_a_route_the_registry_does_not_guard(make_app, district, auth):
    """Without the registry's check (taken away here), the walk reports the tool's routes as reachable."""
    app = make_app(TOOLBOX_PACKAGES=("tests.sample_tools",))
    app.before_request_funcs.pop("street_lamps")
    leaks = reachable(app, app.test_client(), auth.headers(NOBODY))
    assert leaks == ["GET /api/v1/tools/street_lamps/ping (street_lamps) answered 200 None"]


def test_a_user_who_may_open_the_tool_reaches_the_view(make_app, district, auth):
    app = make_app(TOOLBOX_PACKAGES=("tests.sample_tools",))
    response = app.test_client().get("/api/v1/tools/street_lamps/ping", headers=auth.headers("ja01g01-worker"))
    assert response.status_code == 200 and response.get_json() == {"tool": "street_lamps"}
