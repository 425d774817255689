"""The sample tool, through HTTP as its users meet it: a Jing'an code, a threshold, one-click query."""

import pytest

from app.extensions import db
from app.models.workitem import WorkItem

URL = "/api/v1/tools/shared_bikes"


@pytest.fixture
def client(make_app, district):
    return make_app(TOOLBOX_PACKAGES=("tests.sample_tools",)).test_client()  # its branch: tests/test_migrations.py


def test_a_count_above_capacity_raises_one_work_item_for_the_street(client, auth):
    op, worker = auth.headers("ja01-operator"), auth.headers("ja01g01-worker")
    point = client.post(f"{URL}/points", headers=op, json={
        "name": "南京西路地铁站2号口", "address": "南京西路1601号", "org_unit": "JA01G01", "capacity": 40}).get_json()
    assert point["place_code"] and point["overflow_work_item"] is None
    assert client.post(f"{URL}/points/{point['id']}/checks", headers=worker, json={"bikes": 35}).get_json()[
        "work_item_id"] is None
    first = client.post(f"{URL}/points/{point['id']}/checks", headers=worker, json={"bikes": 90}).get_json()
    again = client.post(f"{URL}/points/{point['id']}/checks", headers=worker, json={"bikes": 70}).get_json()
    assert first["work_item_id"] == again["work_item_id"] is not None
    with client.application.app_context():
        item = db.session.get(WorkItem, first["work_item_id"])
        assert (item.source_tool, item.category, item.org_unit.code, item.limit_kind) == (
            "shared_bikes", "overflow", "JA01", "1 working day")
    listed = client.get(f"{URL}/points", headers=op).get_json()["items"]
    assert listed[0]["overflow_work_item"] == item.number and listed[0]["last_count"] == 70
    found = client.get("/api/v1/query?q=南京西路地铁站", headers=worker).get_json()["items"]
    assert [(f["tool"], f["status"]) for f in found] == [("shared_bikes", "overflowing")]


def test_bad_input_and_other_scopes_are_refused(client, auth):
    bad = client.post(f"{URL}/points", headers=auth.headers("ja01-operator"), json={"name": "x", "capacity": 0})
    assert bad.status_code == 422 and {"address", "org_unit", "capacity"} <= set(bad.get_json()["error"]["fields"])
    point = client.post(f"{URL}/points", headers=auth.headers("ja01-operator"), json={
        "name": "江宁路口", "address": "江宁路 1 号", "org_unit": "JA01G01", "capacity": 10}).get_json()
    other = client.post(f"{URL}/points/{point['id']}/checks", headers=auth.headers("ja02g01-worker"), json={"bikes": 1})
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "out_of_scope"
