"""Item 7 of the console issue, in a real headless Chromium at a desktop's size (1280×800): each of the
three admins signs in through WeCom OAuth, opens every console page of the role and is refused the others;
the system admin enables a tool for one street and a grid worker of that street then has it in the toolbox;
the security admin's import dry run shows its counts and changes nothing; the audit admin verifies the
chain. Every page is kept as a screenshot (the folder is printed at the end)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.users import User
from app.registry import current_registry
from app.services.toolbox import set_enabled
from tests.web.conftest import Browser
from tests.web.test_console import PAGES

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 1280, 800


class Desk(Browser):
    """One browser at a desk, signing in as different people."""

    def open(self, path: str):
        self.driver.get(f"{self.base}{path}")
        return self.find("h1").text

    def login(self, userid: str, path: str = "/console/"):
        """Through the simulator's WeCom OAuth page, back to path."""
        from selenium.webdriver.support.select import Select

        self.driver.get(f"{self.base}/healthz")
        self.driver.delete_all_cookies()
        self.driver.get(f"{self.base}{path}")
        Select(self.find("select[name=userid]")).select_by_value(userid)
        self.click("button[type=submit]")
        self.wait.until(lambda d: d.current_url.split("#")[0].endswith(path))

    def walk_role(self, role: str, name: str):
        """Every page of the role opens; every page of the other roles is refused."""
        assert self.open("/console/") == "管理控制台"
        self.shot(f"{name}-home")
        for other, paths in PAGES.items():
            for path in paths:
                if path.endswith(".csv"):
                    continue  # a download, not a page
                title = self.open(path)
                if other == role:
                    assert title not in ("无权访问", "无法完成"), path
                    self.shot(f"{name}-{path.strip('/').replace('/', '-').replace('?', '_')}")
                else:
                    assert title == "无权访问" and "此页面仅供" in self.driver.page_source, path
        self.open(PAGES[next(r for r in PAGES if r != role)][0])
        self.shot(f"{name}-refused")

    def toolbox_codes(self) -> list[str]:
        self.driver.get(f"{self.base}/api/v1/toolbox")
        body = self.driver.find_element("css selector", "body").text
        return [t["code"] for t in json.loads(body)["items"]]


@pytest.fixture
def desk(live_app, district, wecom_sim, live_server, chromium, screenshots):
    return Desk(chromium(WIDTH, HEIGHT), live_server.url, screenshots)


def test_the_system_admin_enables_a_tool_for_one_street_and_its_grid_worker_gets_it(live_app, desk):
    from selenium.webdriver.support.select import Select

    with live_app.app_context():  # the tool starts switched off for the whole district
        admin = db.session.execute(select(User).where(User.wecom_userid == "ja-admin")).scalar_one()
        set_enabled("flood_duty", admin.memberships[0].org_unit, False, "test")  # the district, JA
        db.session.commit()
        name = current_registry().get("flood_duty").manifest.name
    desk.login("ja01g01-worker", "/h5/staff/")
    assert "flood_duty" not in desk.toolbox_codes()

    desk.login("ja-admin")
    desk.walk_role("admin", "admin")
    desk.open("/console/tools")
    desk.click('tr[data-tool="flood_duty"] a')
    assert desk.find("h1").text == name
    desk.find("#unit").send_keys("JA01")
    Select(desk.find("#enabled")).select_by_value("1")
    desk.shot("admin-enable-form")
    desk.click("#preview-button")
    gains = desk.find('[data-preview="gains"]').text
    assert "ja01g01-worker" in gains
    desk.shot("admin-enable-preview")
    desk.click("#confirm-button")
    assert desk.find(".flash").text.startswith("已为")
    assert desk.find('#settings tr[data-unit="JA01"]').text.endswith("ja-admin")
    desk.shot("admin-enabled")

    desk.login("ja01g01-worker", "/h5/staff/")
    assert "flood_duty" in desk.toolbox_codes()
    desk.login("ja02g01-worker", "/h5/staff/")
    assert "flood_duty" not in desk.toolbox_codes()  # another street: still off


def test_the_security_admin_dry_runs_an_import_and_nothing_changes(live_app, desk, tmp_path):
    roster = tmp_path / "staff.csv"
    roster.write_text("userid,name,mobile,unit code,role\n"
                      "ja01g01-newcomer,新来的网格员,13911112222,JA01G01,worker\n"
                      "ja01g01-worker,江宁网格员01,13900000000,JA01G01,worker\n", encoding="utf-8")
    desk.login("ja-secadmin")
    desk.walk_role("security_admin", "security")
    desk.open("/console/import")
    desk.find("#file").send_keys(str(roster))
    desk.click("#dry-run")
    report = desk.find("#report")
    counts = {li.get_attribute("data-count"): li.find_element("css selector", "strong").text
              for li in report.find_elements("css selector", "[data-count]")}
    assert counts == {"created": "1", "updated": "1", "disabled": "0", "unchanged": "0", "errors": "0"}
    assert "未做任何修改" in report.text
    desk.shot("security-import-dry-run")
    with live_app.app_context():
        assert db.session.execute(select(User).where(User.wecom_userid == "ja01g01-newcomer")).first() is None


def test_the_audit_admin_verifies_the_chain(live_app, desk):
    desk.login("ja-auditor")
    desk.walk_role("audit_admin", "audit")
    desk.open("/console/audit/verify")
    desk.click("#verify")
    result = desk.find("#verify-result")
    assert result.get_attribute("data-ok") == "1" and "哈希链完整" in result.text
    desk.shot("audit-verified")
    desk.open("/console/audit?action=audit.verify")
    assert desk.find('tr[data-action="audit.verify"]')
    desk.shot("audit-log-filtered")


def test_a_grid_worker_is_refused_the_console_with_a_page_not_a_loop(live_app, desk):
    desk.login("ja01g01-worker", "/h5/staff/")
    assert desk.open("/console/") == "无权访问"
    assert desk.driver.current_url.endswith("/console/")
    desk.shot("worker-refused")
