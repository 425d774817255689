"""Fixtures for other systems: an admin registering systems over HTTP, a place to report at."""

from __future__ import annotations

import pytest

from app.extensions import db


@pytest.fixture
def admin(auth, district):
    return auth.headers("ja-admin")


@pytest.fixture
def register(client, admin):
    """register(code, **settings) → the 201 body (with api_key and webhook_secret)."""
    def create(code: str = "hotline12345", **settings):
        body = {"code": code, "name": "12345市民服务热线", "categories": ["environment", "waterlogging"],
                "units": ["JA01"], "webhook_url": None, "events": [], **settings}
        response = client.post("/api/v1/admin/integrations", json=body, headers=admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return create


@pytest.fixture
def place_code(app, district):
    """A committee place in grid JA01G01 (street JA01) with coordinates."""
    from app.services.places import create_place

    with app.app_context():
        place = create_place(name="南京西路 100 号", kind="committee", org_unit=district.unit("JA01G01C01"),
                             address="南京西路 100 号", lat=31.2290, lng=121.4520)
        db.session.commit()
        return place.code


def order(external_id: str = "12345-0001", **fields) -> dict:
    return {"external_id": external_id, "category": "environment", "description": "南京西路垃圾堆放无人清运",
            "reporter_name": "张三丰", "reporter_phone": "13912345678", **fields}


class Receiver:
    """A receiver process on a free port (tests/integrations/receiver.py)."""

    def __init__(self, secret: str, fail_first: int = 0):
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integrations.receiver", "--secret", secret, "--fail-first", str(fail_first)],
            stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line.startswith("PORT "), line
        self.url = f"http://127.0.0.1:{int(line.split()[1])}/hook"

    def log(self) -> list[dict]:
        import requests
        return requests.get(self.url, timeout=30).json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process.stdout.close()


@pytest.fixture
def receiver():
    """receiver(secret, fail_first=0) starts one; every one started is stopped after the test."""
    started = []

    def start(secret: str, fail_first: int = 0) -> Receiver:
        started.append(Receiver(secret, fail_first))
        return started[-1]
    yield start
    for r in started:
        r.stop()


@pytest.fixture
def fast_retries(app):
    """Retries a test can watch: backoff from 0.05 s, capped at 0.2 s."""
    saved = {k: app.config[k] for k in ("WEBHOOK_RETRY_BASE_SECONDS", "WEBHOOK_RETRY_MAX_SECONDS")}
    app.config.update(WEBHOOK_RETRY_BASE_SECONDS=0.05, WEBHOOK_RETRY_MAX_SECONDS=0.2)
    yield
    app.config.update(saved)
