"""A defined tool in the staff workbench: its tile, list, mobile form from the definition, detail."""

import io
import re

import pytest

from tests.citizen_support import png_bytes
from tests.definitions.conftest import publish
from tests.web.conftest import StaffClient

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def shipped(app, runner):
    assert runner.invoke(args=["toolbox", "seed"]).exit_code == 0


def test_a_defined_tool_has_a_tile_a_form_a_list_and_a_detail(app, auth, client, shipped):
    staff = StaffClient(app, auth, "ja01g01-worker")
    home = staff.get("/h5/staff/").get_data(as_text=True)
    assert "共享单车停放巡查" in home and "/h5/staff/t/shared_bike_patrol/" in home
    operator = auth.headers("ja01-operator")
    zone = client.post("/api/v1/places", headers=operator, json={"name": "江宁路停放区", "kind": "bike_zone",
                                                               "org_unit": "JA01G01"}).get_json()["code"]
    form_url = f"/h5/staff/t/shared_bike_patrol/f/new?place={zone}"
    page = staff.get(form_url).get_data(as_text=True)
    assert "车辆数" in page and "涉及品牌" in page and zone in page
    refused = staff.submit(form_url, {"zone": zone, "count": "-3"})
    assert refused.status_code == 422 and "车辆数" in refused.get_data(as_text=True)
    done = staff.submit(form_url, {"zone": zone, "count": "55", "brands": ["美团", "哈啰"], "note": "路口堆放",
                                   "photos": (io.BytesIO(png_bytes()), "p.png")},
                        content_type="multipart/form-data")
    assert done.status_code == 303, done.get_data(as_text=True)[:500]
    detail_url = done.headers["Location"]
    assert re.search(r"/h5/staff/t/shared_bike_patrol/records/\d+$", detail_url)
    detail = staff.get(detail_url).get_data(as_text=True)
    assert "美团、哈啰" in detail and "55" in detail and "已派单" in detail
    listing = staff.get("/h5/staff/t/shared_bike_patrol/records").get_data(as_text=True)
    assert "江宁路停放区" in listing or zone in listing


def test_a_repeating_group_is_filled_line_by_line(app, auth, client, shipped):
    operator = auth.headers("ja01-operator")
    house = client.post("/api/v1/places", headers=operator, json={"name": "某公寓", "kind": "rental_property",
                                                                "org_unit": "JA01G01"}).get_json()["code"]
    staff = StaffClient(app, auth, "ja01g01-worker")
    form_url = f"/h5/staff/t/rental_housing/f/new?place={house}"
    assert "房间居住情况" in staff.get(form_url).get_data(as_text=True)
    done = staff.submit(form_url, {"property": house, "property_name": "某公寓", "landlord": "张三",
                                   "landlord_phone": "13912345678", "rooms": "101，3，是\n102，7，否", "result": "ok"})
    assert done.status_code == 303, done.get_data(as_text=True)[:800]
    detail = staff.get(done.headers["Location"]).get_data(as_text=True)
    assert "张*" in detail and "13912345678" not in detail and "139****5678" in detail
    assert "超过 4" in detail                                           # the room over the limit raised an item


def test_an_admin_defined_tool_appears_after_publishing(app, auth, client, district, bikes):
    admin = auth.headers("ja-admin")
    client.post("/api/v1/admin/tool-definitions", headers=admin, json=bikes)
    staff = StaffClient(app, auth, "ja01g01-worker")
    assert "/h5/staff/t/bike_patrol/" not in staff.get("/h5/staff/").get_data(as_text=True)
    publish(client, admin, "bike_patrol")
    assert "/h5/staff/t/bike_patrol/" in staff.get("/h5/staff/").get_data(as_text=True)
    assert staff.get("/h5/staff/t/bike_patrol/records").status_code == 200
