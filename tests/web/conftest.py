"""Workbench page tests: a browser-like client signed in through the session cookie."""

from __future__ import annotations

import re

import pytest

from app.auth import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for


class StaffClient:
    """A test client holding a workbench session (the OAuth cookie) for one person."""

    def __init__(self, app, auth, userid: str):
        self.app, self.client = app, app.test_client()
        token = auth.token(userid)
        with app.test_request_context():
            self.csrf = csrf_token_for(token)
        self.client.set_cookie(SESSION_COOKIE, token)
        self.client.set_cookie(CSRF_COOKIE, self.csrf)

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def form(self, path) -> dict:
        """The hidden fields of the page's form (idempotency key, version)."""
        html = self.get(path).get_data(as_text=True)
        return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))

    def post(self, path, data=None, *, fetch=False, **kw):
        headers = {"X-Requested-With": "fetch"} if fetch else {}
        return self.client.post(path, data={"_csrf": self.csrf, **(data or {})}, headers=headers, **kw)

    def submit(self, path, data=None, **kw):
        """Fill the form at path (its hidden fields) with data and post it."""
        hidden = {k: v for k, v in self.form(path).items() if k != "_csrf"}
        return self.post(path, {**hidden, **(data or {})}, **kw)


@pytest.fixture
def staff(app, auth):
    return lambda userid: StaffClient(app, auth, userid)


@pytest.fixture
def demo(app, district):
    """The demo district (`flask toolbox seed --demo`), with the WeCom simulator running."""
    from app.extensions import db
    from app.services import workdays
    from app.services.demo import seed_demo

    with app.app_context():
        workdays.load_official()
        db.session.commit()
        return seed_demo()


@pytest.fixture
def live_app(app, live_server, tmp_path):
    """The app behind the live server, with OAuth coming back to it and media in a temporary folder."""
    from tests.citizen_support import temporary_media_root

    old = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = live_server.url
    with temporary_media_root(app, tmp_path / "media"):
        yield app
    app.config["PUBLIC_BASE_URL"] = old


class Browser:
    """A selenium driver with patient look-ups (the machine is loaded) and screenshots."""

    def __init__(self, driver, base: str, shots, timeout: int = 30):
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.base, self.shots = driver, base, shots
        self.wait = WebDriverWait(driver, timeout)

    def find(self, css):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    def click(self, css):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        element = self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)))
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def shot(self, name):
        self.shots.take(self.driver, name)
