"""Issue 15's "Done when", walked over HTTP (the seed command sets up the district, as an operator would).

An admin defines a shared-bike tool and publishes it; a grid worker sees it in the toolbox, records an
inspection with a photo at a Jing'an code; a count over the threshold raises a work item routed to the
street; the record is found in one-click query within scope; a later type change over existing records is
refused with a report until resolved; the three shipped scenes appear for the right roles. (The benchmark's
1 M-record figure: benchmarks/nocode_bench.py.)
"""

import io

import pytest

from tests.citizen_support import png_bytes
from tests.definitions.conftest import BIKES

pytestmark = pytest.mark.usefixtures("media_root")


def codes(response) -> set[str]:
    return {t["code"] for t in response.get_json()["items"]}


def test_done_when(client, runner, auth):
    assert runner.invoke(args=["toolbox", "seed"]).exit_code == 0
    admin, worker, street = auth.headers("ja-admin"), auth.headers("ja01g01-worker"), auth.headers("ja01-operator")
    elsewhere = auth.headers("ja02g01-worker")

    # An admin defines a shared-bike tool and publishes it.
    assert client.post("/api/v1/admin/tool-definitions", headers=admin, json=BIKES).status_code == 201
    assert "bike_patrol" not in codes(client.get("/api/v1/toolbox", headers=worker))
    assert client.post("/api/v1/admin/tool-definitions/bike_patrol/publish", headers=admin).status_code == 200

    # A grid worker sees it in the toolbox, and its form.
    assert "bike_patrol" in codes(client.get("/api/v1/toolbox", headers=worker))
    form = client.get("/api/v1/tools/bike_patrol/schema", headers=worker).get_json()
    assert form["ui"]["widgets"]["spot"] == "place_scan" and form["ui"]["widgets"]["photos"] == "photo_upload"

    # ... records an inspection with a photo at a Jing'an code.
    spot = client.post("/api/v1/places", headers=street, json={
        "name": "铜仁路停放点", "kind": "bike_spot", "org_unit": "JA01G01", "address": "铜仁路88号"}).get_json()["code"]
    photo = client.post("/api/v1/attachments", headers=worker, data={"file": (io.BytesIO(png_bytes()), "p.png")},
                        content_type="multipart/form-data").get_json()["id"]
    r = client.post("/api/v1/tools/bike_patrol/records", headers={**worker, "Idempotency-Key": "k" * 20},
                    json={"values": {"spot": spot, "count": 48, "note": "地铁口堆放严重", "photos": [photo]}})
    assert r.status_code == 201, r.get_json()
    record = r.get_json()
    assert record["place_code"] == spot and record["photo_ids"] == [photo]
    retry = client.post("/api/v1/tools/bike_patrol/records", headers={**worker, "Idempotency-Key": "k" * 20},
                        json={"values": {"spot": spot, "count": 48, "photos": [photo]}})
    assert retry.status_code == 200 and retry.get_json()["id"] == record["id"]     # the phone's retry: once

    # ... a count over the threshold raises a work item routed to the street.
    raised = record["work_items"][0]
    assert raised["outcome"] == "raised" and raised["work_item"]["org_unit"] == "JA01"
    item = client.get(f"/api/v1/work-items/{raised['work_item']['id']}", headers=street)
    assert item.status_code == 200, item.get_json()
    assert "车辆数 48 超过 30" in item.get_json()["description"]
    assert photo in item.get_json()["photo_ids"]

    # ... the record is found in one-click query within scope (and not outside it).
    hits = client.get("/api/v1/query", headers=worker, query_string={"q": "地铁口堆放"}).get_json()["items"]
    assert [(h["tool"], h["id"]) for h in hits if h["tool"] == "bike_patrol"] == [("bike_patrol", str(record["id"]))]
    hits = client.get("/api/v1/query", headers=elsewhere, query_string={"q": "地铁口堆放"}).get_json()["items"]
    assert not [h for h in hits if h["tool"] == "bike_patrol"]

    # A later type change over existing records is refused with a report until resolved.
    changed = {**BIKES, "fields": [dict(f, type="choice", options=["少量", "大量"]) if f["name"] == "count" else f
                                   for f in BIKES["fields"]], "rules": [], "categories": BIKES["categories"]}
    assert client.put("/api/v1/admin/tool-definitions/bike_patrol", headers=admin, json=changed).status_code == 200
    dry = client.post("/api/v1/admin/tool-definitions/bike_patrol/publish?dry_run=1", headers=admin).get_json()
    assert dry["unresolved"] == ["count"] and dry["fields"][0]["lost"] == 1
    refused = client.post("/api/v1/admin/tool-definitions/bike_patrol/publish", headers=admin)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["report"]["fields"][0]["sample_record_ids"] == [record["id"]]
    assert client.get(f"/api/v1/tools/bike_patrol/records/{record['id']}", headers=worker).get_json()["values"][
        "count"] == 48
    resolved = client.post("/api/v1/admin/tool-definitions/bike_patrol/publish", headers=admin,
                           json={"resolutions": {"count": {"action": "convert", "default": "大量"}}})
    assert resolved.status_code == 200 and resolved.get_json()["to_version"] == 2
    now = client.get(f"/api/v1/tools/bike_patrol/records/{record['id']}", headers=worker).get_json()
    assert (now["version"], now["values"]["count"]) == (2, "大量")

    # The three shipped scenes appear for the right roles.
    assert {"rental_housing", "shared_bike_patrol", "parking_sharing"} <= codes(
        client.get("/api/v1/toolbox", headers=street))
    mine = codes(client.get("/api/v1/toolbox", headers=worker))
    assert {"rental_housing", "shared_bike_patrol"} <= mine and "parking_sharing" not in mine
    assert not {"rental_housing", "shared_bike_patrol", "parking_sharing", "bike_patrol"} & codes(
        client.get("/api/v1/toolbox", headers=admin))
