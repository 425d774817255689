"""Outages answer cleanly: 503 with Retry-After (a friendly page on H5), never a 500, and recovery by itself.

The database tests terminate the app's connections (pg_terminate_backend) or point it at a port
where nothing listens; the Redis tests point it at a port where nothing listens.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text

from app.extensions import db
from app.models.outbox import JobOutbox
from tests.fixtures import PG_URL, needs_postgres
from toolbox.citizen_report.models import CitizenReport
from toolbox.citizen_report.tests.helpers import form, make_place, photo, submit, tracking_code

NO_SERVER = "127.0.0.1:1"   # nothing listens on port 1: connections are refused at once


@pytest.fixture(autouse=True)
def _media(media_root):
    return media_root


def assert_outage(response):
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True)[:300])
    assert int(response.headers["Retry-After"]) > 0
    return response


def assert_outage_json(response):
    error = assert_outage(response).get_json()["error"]
    assert error["code"] == "service_unavailable" and error["message"] and error["message_en"]


# --- Redis unreachable ---------------------------------------------------------------------------

def test_with_redis_down_citizens_still_report_and_reads_work(make_app, district, auth, media_root):
    code = make_place(make_app(), district)
    app = make_app(REDIS_URL=f"redis://{NO_SERVER}/0", MEDIA_ROOT=str(media_root))
    client = app.test_client()
    response = submit(client, code, form(photos=[photo()]))
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    tracking = client.get(f"/h5/t/{tracking_code(response)}")
    assert tracking.status_code == 200
    listing = client.get("/api/v1/work-items", headers=auth.headers("ja01-operator"))
    assert listing.status_code == 200 and listing.get_json()["total"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CitizenReport)) == 1
        # the photo's job and the notices wait in the outbox for the sweeper, none is lost
        assert db.session.scalar(select(func.count()).select_from(JobOutbox)
                                 .where(JobOutbox.func.like("%process_attachment"))) == 1
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded" and health.get_json()["redis"].startswith("error")


def test_with_redis_down_the_citizen_limit_still_holds_in_process(make_app, district, media_root):
    code = make_place(make_app(), district)
    app = make_app(REDIS_URL=f"redis://{NO_SERVER}/0", MEDIA_ROOT=str(media_root), CITIZEN_RATE_LIMIT="1/600")
    client = app.test_client()
    assert submit(client, code, form()).status_code == 303
    assert submit(client, code, form(category="environment")).status_code == 429


# --- the database unreachable, or its connections cut -----------------------------------------------

def test_with_the_database_unreachable_every_area_answers_503(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@{NO_SERVER}/none")
    client = app.test_client()
    assert_outage_json(client.get("/api/v1/work-items", headers={"Authorization": "Bearer not-checked"}))
    page = assert_outage(client.get("/h5/c/ABCDEFGH"))
    assert "请稍后再试" in page.get_data(as_text=True) and page.mimetype == "text/html"
    assert client.get("/healthz").status_code == 503


@needs_postgres
def test_terminated_database_connections_give_503_then_the_app_serves_again(make_app, district, auth):
    code = make_place(make_app(), district)
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False,
                                              "connect_args": {"application_name": "outage-test"}})
    client = app.test_client()
    headers = auth.headers("ja01-operator")
    assert client.get("/api/v1/work-items", headers=headers).status_code == 200
    assert client.get(f"/h5/c/{code}").status_code == 200
    for _ in range(2):
        _terminate("outage-test")
        statuses = [client.get("/api/v1/work-items", headers=headers) for _ in range(3)]
        pages = [client.get(f"/h5/c/{code}") for _ in range(3)]
        for response in statuses + pages:
            assert response.status_code in (200, 503), response.get_data(as_text=True)[:300]
            if response.status_code == 503:
                assert_outage(response)
        assert 503 in [r.status_code for r in statuses + pages]  # a cut connection was met, and answered
        assert statuses[-1].status_code == 200 and pages[-1].status_code == 200  # and then served again


def _terminate(application_name: str) -> None:
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE application_name = :name"), {"name": application_name}).scalar()
    engine.dispose()
    assert killed >= 1
