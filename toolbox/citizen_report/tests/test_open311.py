"""Open311 GeoReport v2: services, definitions, requests (GET filters, POST with api_key), tokens; JSON + XML."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from app.extensions import db
from app.models.workitem import WorkItem
from toolbox.citizen_report.models import CitizenReport
from toolbox.citizen_report.tests.helpers import close_item, form, photo, submit, tracking_code

V2 = "/open311/v2"


@pytest.fixture
def api_key(client, auth, district):
    response = client.post("/api/v1/tools/citizen_report/open311-keys", json={"name": "开放数据实验室"},
                           headers=auth.headers("ja-admin"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["api_key"]


def post(client, api_key, **fields):
    body = {"api_key": api_key, "service_code": "facilities", "description": "路灯不亮已经三天了",
            "email": "a@example.org", "phone": "13900001111", "first_name": "三", "last_name": "张", **fields}
    return client.post(f"{V2}/requests.json", data=body)


def test_service_list_in_json_and_xml(client):
    services = client.get(f"{V2}/services.json")
    assert services.status_code == 200 and services.mimetype == "application/json"
    first = services.get_json()[0]
    assert set(first) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert first["metadata"] is False and first["type"] == "realtime"
    xml = client.get(f"{V2}/services.xml")
    assert xml.mimetype == "text/xml" and xml.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(xml.data)
    assert root.tag == "services" and root[0].tag == "service"
    assert {s.findtext("service_code") for s in root} >= {"facilities", "waterlogging"}
    assert root[0].findtext("metadata") == "false"


def test_service_definition_and_errors_follow_the_spec(client):
    definition = client.get(f"{V2}/services/waterlogging.json").get_json()
    assert definition == {"service_code": "waterlogging", "attributes": []}
    missing = client.get(f"{V2}/services/nope.json")
    assert missing.status_code == 404
    assert missing.get_json() == [{"code": 404, "description": "service_code 'nope' not found"}]
    xml = ET.fromstring(client.get(f"{V2}/services/nope.xml").data)
    assert xml.tag == "errors" and xml[0].tag == "error" and xml[0].findtext("code") == "404"
    assert client.get(f"{V2}/services.csv").status_code == 400
    assert client.get(f"{V2}/services.json?jurisdiction_id=elsewhere").status_code == 404


def test_post_needs_a_valid_api_key(client, place):
    response = post(client, "wrong", address_id=place)
    assert response.status_code == 403
    assert response.get_json()[0]["code"] == 403 and "api_key" in response.get_json()[0]["description"]


def test_posted_request_becomes_a_work_item_and_is_readable(app, client, auth, place, api_key):
    created = post(client, api_key, address_id=place)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert set(body[0]) == {"service_request_id", "token", "service_notice", "account_id"}
    request_id, token = body[0]["service_request_id"], body[0]["token"]
    with app.app_context():
        report = db.session.get(CitizenReport, int(request_id))
        item = db.session.get(WorkItem, report.work_item_id)
        assert report.source == "open311" and report.mobile == "13900001111" and report.reporter_name == "张 三"
        assert (item.source_tool, item.category, item.org_unit.code) == ("citizen_report", "facilities", "JA01")
        number = item.number
    assert client.get(f"{V2}/tokens/{token}.json").get_json() == [{"service_request_id": request_id,
                                                                     "token": token}]
    one = client.get(f"{V2}/requests/{request_id}.json").get_json()[0]
    assert one["status"] == "open" and one["service_code"] == "facilities" and one["address_id"] == place
    assert one["agency_responsible"] == "江宁路街道" and number in one["service_notice"]
    assert one["requested_datetime"].endswith("Z") and one["lat"] == 31.2302 and one["long"] == 121.4401
    assert "13900001111" not in created.get_data(as_text=True) + str(one)
    close_item(client, auth, int(report.work_item_id))
    closed = client.get(f"{V2}/requests/{request_id}.xml")
    root = ET.fromstring(closed.data)
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert root[0].findtext("status") == "closed" and root[0].findtext("status_notes") == "已更换松动地砖"


def test_request_list_filters(app, client, auth, place, api_key):
    facilities = post(client, api_key, address_id=place).get_json()[0]["service_request_id"]
    flood = post(client, api_key, address_id=place, service_code="waterlogging",
                 description="小区门口积水很深").get_json()[0]["service_request_id"]
    h5 = tracking_code(submit(client, place, form(category="environment")))
    with app.app_context():
        item_id = db.session.get(CitizenReport, int(flood)).work_item_id
    # waterlogging routes to the grid: its staff handle it
    close_item(client, auth, item_id, handler="ja01g01-worker", dispatcher="ja01-operator")

    def ids(query=""):
        return [r["service_request_id"] for r in client.get(f"{V2}/requests.json{query}").get_json()]

    assert len(ids()) == 3 and h5 not in ids()  # service_request_id is never the citizen's tracking code
    assert ids("?status=closed") == [flood]
    assert set(ids("?status=open")) == set(ids()) - {flood}
    assert ids("?service_code=facilities") == [facilities]
    assert ids(f"?service_request_id={facilities},{flood}") == sorted([facilities, flood], key=int)
    assert ids("?start_date=2000-01-01T00:00:00Z&end_date=2000-12-31T00:00:00Z") == []
    assert client.get(f"{V2}/requests.json?start_date=yesterday").status_code == 400
    assert client.get(f"{V2}/requests.json?status=pending").status_code == 400
    assert client.get(f"{V2}/requests/999999.json").status_code == 404


def test_a_location_near_a_place_is_matched_and_far_away_is_refused(client, place, api_key):
    near = post(client, api_key, lat="31.2305", long="121.4403")
    assert near.status_code == 201
    far = post(client, api_key, lat="31.30", long="121.60")
    assert far.status_code == 400 and "address_id" in far.get_json()[0]["description"]
    nowhere = post(client, api_key)
    assert nowhere.status_code == 400


def test_invalid_posts_are_400_with_a_description(client, place, api_key):
    response = post(client, api_key, address_id=place, description="", phone="12")
    assert response.status_code == 400
    description = response.get_json()[0]["description"]
    assert "description" in description and "mobile" in description
    assert post(client, api_key, address_id=place, service_code="unicorns").status_code == 404


def test_posted_media_file_is_stored_through_the_photo_pipeline(app, client, place, api_key):
    import io
    response = client.post(f"{V2}/requests.json", data={
        "api_key": api_key, "service_code": "facilities", "address_id": place, "description": "护栏倒了挡住人行道",
        "media": (io.BytesIO(photo()), "guardrail.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 201
    with app.app_context():
        report = db.session.get(CitizenReport, int(response.get_json()[0]["service_request_id"]))
        assert len(report.photo_ids) == 1


def test_service_discovery_names_the_geo_report_v2_endpoint(client):
    body = client.get(f"{V2}/discovery.json").get_json()
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and "application/json" in endpoint["formats"]
    root = ET.fromstring(client.get(f"{V2}/discovery.xml").data)
    assert root.tag == "discovery" and root.find("endpoints/endpoint/formats/format") is not None


@pytest.mark.parametrize("path", ["/requests/abc.json", "/requests/99999999999999999999.json", "/nothing",
                                  "/requests/1/extra.json", "/requests.json?service_request_id=%00"])
def test_every_error_is_the_specs_error_list_in_json(client, path):
    response = client.get(f"{V2}{path}")
    assert response.status_code in (400, 404) and response.mimetype == "application/json"
    errors = response.get_json()
    assert isinstance(errors, list) and set(errors[0]) == {"code", "description"}
    assert errors[0]["code"] == response.status_code


@pytest.mark.parametrize("path", ["/requests/abc.xml", "/requests/99999999999999999999.xml", "/nothing.xml"])
def test_every_error_is_the_specs_error_list_in_xml(client, path):
    response = client.get(f"{V2}{path}")
    assert response.status_code == 404 and response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "errors" and root[0].findtext("code") == "404"


def test_wrong_method_is_an_error_list(client):
    response = client.delete(f"{V2}/services.json")
    assert response.status_code == 405 and response.get_json()[0]["code"] == 405


@pytest.mark.parametrize("args", ["service_request_id=99999999999999999999", "start_date=0001-01-01T00:00:00%2B14:00",
                                  "end_date=9999-12-31T23:59:59-14:00", "start_date=garbage"])
def test_hostile_request_filters_never_500(client, args):
    response = client.get(f"{V2}/requests.json?{args}")
    assert response.status_code in (200, 400), response.data
    assert response.mimetype == "application/json"


def test_xml_never_carries_characters_xml_forbids(client, place, api_key):
    created = post(client, api_key, address_id=place, description="路灯\x01不亮\x0b已经\x1f三天了\ufffe")
    assert created.status_code == 201, created.get_data(as_text=True)
    feed = client.get(f"{V2}/requests.xml")
    root = ET.fromstring(feed.data)  # one citizen's control character must not break the feed
    assert root[0].findtext("description") == "路灯不亮已经三天了"
    assert client.get(f"{V2}/requests.json").get_json()[0]["description"].startswith("路灯\x01")
