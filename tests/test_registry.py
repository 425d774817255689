"""The tool registry: discovery (built-in folders and entry points), validation, mounting, enablement."""

import textwrap

import pytest
from flask import Blueprint
from flask.cli import AppGroup
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.extensions import db
from app.models import AuditLog
from app.registry import (
    Category,
    Manifest,
    Periodic,
    PlaceKind,
    Registry,
    Tool,
    ToolError,
    tool_tables,
    validate,
    validate_tables,
)


@pytest.fixture
def sample_app(make_app):
    """An app whose built-in tools come from tests/sample_tools instead of toolbox/."""
    return lambda **extra: make_app(TOOLBOX_PACKAGES=("tests.sample_tools",), **extra)


def make_tool(code="good_tool", **manifest):
    fields = {"code": code, "name": "好工具", "icon": "star", "version": "1.0.0", **manifest}
    return Tool(manifest=Manifest(**fields))


def test_builtin_tools_are_discovered_and_mounted(sample_app, district, auth):
    app = sample_app()
    registry = app.extensions["toolbox"]
    assert [t.code for t in registry] == ["shared_bikes", "street_lamps"]
    assert registry.get("street_lamps").source == "builtin"
    response = app.test_client().get("/api/v1/tools/street_lamps/ping", headers=auth.headers("ja01g01-worker"))
    assert response.get_json() == {"tool": "street_lamps"}


def test_tool_routes_need_a_token_like_every_api_route(sample_app):
    response = sample_app().test_client().get("/api/v1/tools/street_lamps/ping")
    assert response.status_code == 401


@pytest.mark.parametrize(("tool", "message"), [
    (make_tool(code="Bad-Code"), "code must match"),
    (make_tool(name=""), "manifest.name is required"),
    (make_tool(roles=("wizard",)), "unknown: ['wizard']"),
    (make_tool(categories=(Category("x_y", "重复"), Category("x_y", "重复"))), "malformed or repeated"),
    (make_tool(categories=(Category("slow", "慢", limit="someday"),)), "limit must be one of"),
    (Tool(manifest=make_tool().manifest, blueprint=Blueprint("other_name", __name__)), "blueprint must be named"),
])
def test_malformed_tools_are_refused_with_a_clear_message(tool, message):
    with pytest.raises(ToolError, match=None) as excinfo:
        validate(tool)
    assert message in str(excinfo.value)


def test_duplicate_codes_are_refused():
    with pytest.raises(ToolError, match="registered twice"):
        Registry([make_tool(), make_tool()])


def test_tool_tables_must_carry_the_tool_code():
    class Base(DeclarativeBase):
        pass

    class Note(Base):
        __tablename__ = "notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        text: Mapped[str] = mapped_column(String(10))

    tool = make_tool()
    tool.package = __name__
    assert tool_tables(tool, Base) == ["notes"]
    with pytest.raises(ToolError, match="tables must be named 'good_tool_"):
        validate_tables(tool, tool_tables(tool, Base))
    validate_tables(tool, ["good_tool_notes"])


def test_a_disabled_by_config_tool_is_not_mounted(sample_app):
    app = sample_app(TOOLBOX_DISABLED_TOOLS=["street_lamps"])
    assert app.extensions["toolbox"].get("street_lamps") is None


def test_entry_point_tool_from_a_separate_distribution_is_registered_and_mounted(
        sample_app, installed_plugin, district, auth):
    app = sample_app()
    tool = app.extensions["toolbox"].get("noise_monitor")
    assert tool is not None and tool.source == "entry_point:noise_monitor"
    client = app.test_client()
    headers = auth.headers("ja01g01-worker")
    assert client.get("/api/v1/tools/noise_monitor/hello", headers=headers).get_json() == {"hello": "噪声监测"}
    codes = [t["code"] for t in client.get("/api/v1/toolbox", headers=headers).get_json()["items"]]
    assert codes == ["noise_monitor", "shared_bikes", "street_lamps"]


def test_toolbox_lists_tools_by_role(sample_app, district, auth):
    client = sample_app().test_client()
    as_worker = client.get("/api/v1/toolbox", headers=auth.headers("ja01g01-worker")).get_json()
    as_auditor = client.get("/api/v1/toolbox", headers=auth.headers("ja-auditor")).get_json()
    assert [t["code"] for t in as_worker["items"]] == ["shared_bikes", "street_lamps"]
    assert as_auditor["items"] == []


def test_admin_disables_a_tool_for_one_street_only(sample_app, district, auth):
    app = sample_app()
    client = app.test_client()
    response = client.put("/api/v1/admin/tools/street_lamps/settings", headers=auth.headers("ja-admin"),
                          json={"org_unit": "JA01", "enabled": False})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["settings"][0]["org_unit"]["code"] == "JA01"

    def toolbox(userid):
        return [t["code"] for t in client.get("/api/v1/toolbox", headers=auth.headers(userid)).get_json()["items"]]

    assert toolbox("ja01g01-worker") == ["shared_bikes"]
    assert toolbox("ja02g01-worker") == ["shared_bikes", "street_lamps"]
    opened = client.get("/api/v1/me", headers=auth.headers("ja01g01-worker")).get_json()
    assert [t["code"] for t in opened["toolbox"]] == ["shared_bikes"]
    with app.app_context():
        row = db.session.execute(select(AuditLog).where(AuditLog.action == "tool.disable")).scalar_one()
        assert row.actor == "ja-admin" and row.detail == {"org_unit": "JA01", "enabled": False}


def test_nearest_setting_wins(sample_app, district, auth):
    client = sample_app().test_client()
    admin = auth.headers("ja-admin")
    client.put("/api/v1/admin/tools/street_lamps/settings", headers=admin, json={"org_unit": "JA", "enabled": False})
    client.put("/api/v1/admin/tools/street_lamps/settings", headers=admin,
               json={"org_unit": "JA03G02", "enabled": True})
    for userid, expected in [("ja03g02-worker", True), ("ja03g01-worker", False)]:
        items = client.get("/api/v1/toolbox", headers=auth.headers(userid)).get_json()["items"]
        assert ("street_lamps" in [t["code"] for t in items]) is expected


@pytest.mark.parametrize("userid", ["ja-secadmin", "ja-auditor", "ja01-manager"])
def test_only_the_system_admin_manages_tools(sample_app, district, auth, userid):
    client = sample_app().test_client()
    response = client.put("/api/v1/admin/tools/street_lamps/settings", headers=auth.headers(userid),
                          json={"org_unit": "JA01", "enabled": False})
    assert response.status_code == 403


def test_admin_tool_setting_validates_its_body(sample_app, district, auth):
    client = sample_app().test_client()
    headers = auth.headers("ja-admin")
    bad = client.put("/api/v1/admin/tools/street_lamps/settings", headers=headers, json={"enabled": "maybe"})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"enabled", "org_unit"}
    missing = client.put("/api/v1/admin/tools/nope/settings", headers=headers, json={"org_unit": "JA", "enabled": True})
    assert missing.status_code == 404


def test_cli_lists_enables_and_disables_tools(sample_app, district):
    app = sample_app()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["toolbox", "tools", "disable", "street_lamps", "--unit", "JA05"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(args=["toolbox", "tools", "list"]).output
    assert "street_lamps" in listing and "disabled at JA05" in listing
    bad = runner.invoke(args=["toolbox", "tools", "enable", "street_lamps", "--unit", "NOPE"])
    assert bad.exit_code != 0 and "no org unit" in bad.output


# --- what a manifest declares, refused when malformed, wired when right ------------------------------------

def job_stub() -> int:
    return 0


@pytest.mark.parametrize(("tool", "message"), [
    (make_tool(categories=(Category("old", "旧", limit="ordinary"),)), "'ordinary' is now '5 working days'"),
    (make_tool(place_kinds=(PlaceKind("Bad Kind", "坏"),)), "place kind code 'Bad Kind' is malformed"),
    (Tool(manifest=make_tool().manifest, periodic=(Periodic("cleanup", job_stub, 60),)), "must be named 'good_tool.…'"),
    (Tool(manifest=make_tool().manifest, cli=AppGroup("lamps")), "CLI group must be named 'good-tool'"),
])
def test_malformed_declarations_are_refused_with_a_clear_message(tool, message):
    with pytest.raises(ToolError) as excinfo:
        validate(tool)
    assert message in str(excinfo.value)


def test_two_tools_cannot_own_one_place_kind():
    with pytest.raises(ToolError, match="place kind 'kiosk' is already declared by 'good_tool'"):
        Registry([make_tool(place_kinds=(PlaceKind("kiosk", "报亭"),)),
                  make_tool(code="other_tool", place_kinds=(PlaceKind("kiosk", "报亭"),))])


def test_place_kinds_offer_only_categories_a_citizen_may_pick():
    citizens = make_tool(code="citizens", categories=(Category("litter", "垃圾", citizen=True),
                                                       Category("internal", "内部")))
    kiosks = make_tool(place_kinds=(PlaceKind("kiosk", "报亭", citizen_categories=("internal",)),))
    with pytest.raises(ToolError, match=r"place kind 'kiosk' offers citizen categories \['internal'\]"):
        Registry([citizens, kiosks]).check_citizen_categories()
    kinds = (PlaceKind("kiosk", "报亭", ("litter",)), PlaceKind("bin", "箱"))
    fine = Registry([citizens, make_tool(place_kinds=kinds)])
    fine.check_citizen_categories()
    assert [c.code for c in fine.citizen_categories("kiosk")] == ["litter"]
    assert [c.code for c in fine.citizen_categories("bin")] == ["litter"]  # none named: every citizen category
    Registry([kiosks]).check_citizen_categories()  # no citizen reporting in the app: nothing to check


def test_place_kinds_come_from_the_tools(sample_app, district, auth):
    client = sample_app().test_client()
    headers = auth.headers("ja-admin")
    ok = client.post("/api/v1/places", headers=headers, json={"name": "静安寺站 1 号口", "kind": "bike_parking",
                                                              "org_unit": "JA01G01"})
    assert ok.status_code == 201 and ok.get_json()["kind_name"] == "共享单车停放点"
    unknown = client.post("/api/v1/places", headers=headers, json={"name": "工地", "kind": "construction_site",
                                                                   "org_unit": "JA01G01"})
    assert unknown.status_code == 422 and "bike_parking" in str(unknown.get_json()["error"]["fields"]["kind"])


def test_a_public_view_in_a_tool_api_is_refused_at_start_up(make_app, tmp_path, monkeypatch):
    package = tmp_path / "leaky_tools"
    (package / "leaky").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "leaky" / "__init__.py").write_text(textwrap.dedent('''
        from flask import Blueprint
        from app import toolkit as tk
        from app.auth import public
        bp = Blueprint("leaky", __name__)
        bp.get("/open")(public(lambda: "x"))
        tool = tk.Tool(manifest=tk.Manifest(code="leaky", name="漏", icon="x", version="1"), blueprint=bp)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ToolError, match="leaky.<lambda> is public"):
        make_app(TOOLBOX_PACKAGES=("leaky_tools",))


def test_tool_schemas_are_named_by_their_tool_in_the_openapi_document(client):
    names = set(client.get("/api/openapi.json").get_json()["components"]["schemas"])
    assert {"construction_sites.InspectionIn", "facade_inspection.InspectionIn", "UnitRef", "WorkItemOut"} <= names
    assert not {n for n in names if n.startswith("Site") or n.startswith("Facade")}


def test_periodic_jobs_and_cli_groups_are_wired(app):
    from app.jobs import PERIODIC_JOBS
    from toolbox.facade_inspection.jobs import remind_reinspections

    assert PERIODIC_JOBS["facade_inspection.reinspection_reminders"].func is remind_reinspections
    assert "citizen-report" in app.cli.commands["toolbox"].commands


def test_each_tool_keeps_its_migrations_in_its_own_folder(app):
    folders = {tool.code: tool.migrations_dir for tool in app.extensions["toolbox"]}
    assert all(folder and folder.endswith(f"toolbox/{code}/migrations") for code, folder in folders.items())
