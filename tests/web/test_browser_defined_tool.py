"""A tool defined without code in a real headless Chromium at a phone's size: the grid worker opens the shipped
shared-bike patrol from the workbench, fills the form drawn from its definition with a photo, and the count over
the threshold raises a work item to the street. Every page is kept as a screenshot."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models.org import OrgUnit
from app.services.definitions_io import load_seed_definitions
from app.services.places import create_place
from tests.citizen_support import jpeg_with_gps, run_jobs
from tests.web.test_browser_walk import Walk

pytestmark = pytest.mark.browser


def test_the_shipped_bike_patrol_form_in_the_browser(live_app, district, wecom_sim, live_server, chromium,
                                                     screenshots, tmp_path):
    with live_app.app_context():
        load_seed_definitions()
        db.session.commit()
        grid = db.session.execute(db.select(OrgUnit).where(OrgUnit.code == "JA01G01")).scalar_one()
        zone = create_place(name="南京西路地铁站停放区", kind="bike_zone", org_unit=grid).code
        db.session.commit()
    picture = tmp_path / "bikes.jpg"
    picture.write_bytes(jpeg_with_gps(size=(1600, 1200)))
    walk = Walk(chromium(390, 844), live_server.url, screenshots)
    walk.login("ja01g01-worker")
    walk.find('[data-tool$="/t/shared_bike_patrol/"]')
    walk.shot("home-with-defined-tools")
    walk.driver.get(f"{live_server.url}/h5/staff/t/shared_bike_patrol/f/new?place={zone}")
    walk.find('input[name="count"]').send_keys("52")
    walk.find('textarea[name="note"]').send_keys("地铁口堆放严重，影响通行")
    walk.find('input[name="photos"]').send_keys(str(picture))
    walk.find(".previews img")
    walk.shot("defined-form")
    walk.submit_and_wait("已派单")
    run_jobs(live_app, "media")  # the photo's thumbnail
    walk.driver.refresh()
    walk.find(".thumbs img, .photos img")
    walk.shot("defined-record")
    assert "车辆数 52 超过 30" in walk.driver.page_source
