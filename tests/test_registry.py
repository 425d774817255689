"""The tool registry: discovery (built-in folders and entry points), validation, mounting, enablement."""

import subprocess
import sys
import textwrap

import pytest
from flask import Blueprint
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.extensions import db
from app.models import AuditLog
from toolbox.registry import Category, Manifest, Registry, Tool, ToolError, tool_tables, validate, validate_tables


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
    assert [t.code for t in registry] == ["street_lamps"]
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


PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "jingan-noise-monitor"
version = "0.2.0"

[project.entry-points."jingan_toolbox.tools"]
noise_monitor = "jingan_noise_monitor:tool"
"""

PLUGIN_MODULE = '''
from flask import Blueprint, jsonify
from toolbox.registry import Category, Manifest, Tool

blueprint = Blueprint("noise_monitor", __name__)


@blueprint.get("/hello")
def hello():
    return jsonify({"hello": "噪声监测"})


tool = Tool(manifest=Manifest(code="noise_monitor", name="噪声监测", icon="sound", version="0.2.0",
                              roles=("worker",), categories=(Category("noise", "夜间施工噪声"),)),
            blueprint=blueprint)
'''


@pytest.fixture
def installed_plugin(tmp_path):
    """Build a tiny separate distribution exposing the entry point, and install it on sys.path."""
    source = tmp_path / "plugin-src"
    (source / "jingan_noise_monitor").mkdir(parents=True)
    (source / "pyproject.toml").write_text(textwrap.dedent(PLUGIN_PYPROJECT))
    (source / "jingan_noise_monitor" / "__init__.py").write_text(PLUGIN_MODULE)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True)
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("jingan_noise_monitor", None)


def test_entry_point_tool_from_a_separate_distribution_is_registered_and_mounted(
        sample_app, installed_plugin, district, auth):
    app = sample_app()
    tool = app.extensions["toolbox"].get("noise_monitor")
    assert tool is not None and tool.source == "entry_point:noise_monitor"
    client = app.test_client()
    headers = auth.headers("ja01g01-worker")
    assert client.get("/api/v1/tools/noise_monitor/hello", headers=headers).get_json() == {"hello": "噪声监测"}
    codes = [t["code"] for t in client.get("/api/v1/toolbox", headers=headers).get_json()["items"]]
    assert codes == ["noise_monitor", "street_lamps"]


def test_toolbox_lists_tools_by_role(sample_app, district, auth):
    client = sample_app().test_client()
    as_worker = client.get("/api/v1/toolbox", headers=auth.headers("ja01g01-worker")).get_json()
    as_auditor = client.get("/api/v1/toolbox", headers=auth.headers("ja-auditor")).get_json()
    assert [t["code"] for t in as_worker["items"]] == ["street_lamps"]
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

    assert toolbox("ja01g01-worker") == []
    assert toolbox("ja02g01-worker") == ["street_lamps"]
    opened = client.get("/api/v1/me", headers=auth.headers("ja01g01-worker")).get_json()
    assert opened["toolbox"] == []
    with app.app_context():
        row = db.session.execute(select(AuditLog).where(AuditLog.action == "tool.disable")).scalar_one()
        assert row.actor == "ja-admin" and row.detail == {"org_unit": "JA01", "enabled": False}


def test_nearest_setting_wins(sample_app, district, auth):
    client = sample_app().test_client()
    admin = auth.headers("ja-admin")
    client.put("/api/v1/admin/tools/street_lamps/settings", headers=admin, json={"org_unit": "JA", "enabled": False})
    client.put("/api/v1/admin/tools/street_lamps/settings", headers=admin,
               json={"org_unit": "JA03G02", "enabled": True})
    for userid, expected in [("ja03g02-worker", ["street_lamps"]), ("ja03g01-worker", [])]:
        items = client.get("/api/v1/toolbox", headers=auth.headers(userid)).get_json()["items"]
        assert [t["code"] for t in items] == expected


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
