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
