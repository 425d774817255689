"""The whole citizen walk in a real headless Chromium: scan → report with a photo → tracking page →
staff close the item → the tracking page shows it closed."""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.citizen_support import run_jobs
from tests.fixtures import REQUIRE_SERVICES
from toolbox.citizen_report.models import CitizenReport
from toolbox.citizen_report.tests.helpers import close_item, make_place, photo

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    from selenium import webdriver

    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = "Debian chromium / chromium-driver not installed (make test installs them)"
        if REQUIRE_SERVICES:
            pytest.fail(message)  # on CI the walk must really run
        pytest.skip(message)
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=390,844", "--lang=zh-CN"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_citizen_walk_from_scan_to_closed(app, client, auth, district, live_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    code = make_place(app, district, name="昌平路 990 号门口")
    picture = tmp_path / "pothole.jpg"
    picture.write_bytes(photo())

    # Scan: the QR code opens the report page of the place.
    browser.get(f"{live_server.url}/h5/c/{code}")
    assert browser.find_element(By.ID, "place-name").text == "昌平路 990 号门口"

    # Fill in, forget the privacy consent: the submission fails and the input stays.
    Select(browser.find_element(By.ID, "category")).select_by_value("facilities")
    browser.find_element(By.ID, "description").send_keys("门口路面塌陷，有个大坑")
    browser.find_element(By.ID, "photos").send_keys(str(picture))
    browser.find_element(By.ID, "mobile").send_keys("13812345678")
    browser.find_element(By.ID, "submit").click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, '.err[data-for="privacy"]')))
    assert browser.find_element(By.ID, "description").get_attribute("value") == "门口路面塌陷，有个大坑"
    assert browser.find_element(By.ID, "mobile").get_attribute("value") == "13812345678"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#photo-previews img")) == 1

    # Consent and submit: the answer is the tracking page with a tracking code.
    browser.find_element(By.ID, "privacy").click()
    browser.find_element(By.ID, "submit").click()
    tracking = wait.until(ec.visibility_of_element_located((By.ID, "tracking-code"))).text.strip()
    assert "/h5/t/" + tracking in browser.current_url
    assert browser.find_element(By.ID, "status").get_attribute("data-state") == "dispatched"

    with app.app_context():
        report = db.session.execute(select(CitizenReport).where(CitizenReport.tracking_code == tracking)).scalar_one()
        item_id, photo_ids = report.work_item_id, list(report.photo_ids)
    assert len(photo_ids) == 1
    run_jobs(app, "media")

    # A staff member handles and closes the item.
    close_item(client, auth, item_id)

    # The citizen reloads the tracking page: closed, with the result, and may now rate it.
    browser.get(f"{live_server.url}/h5/t/{tracking}")
    status = wait.until(ec.visibility_of_element_located((By.ID, "status")))
    assert status.get_attribute("data-state") == "closed" and "已办结" in status.text
    assert "已更换松动地砖" in browser.page_source
    browser.find_element(By.CSS_SELECTOR, 'input[name="rating"][value="satisfied"]').click()
    browser.find_element(By.CSS_SELECTOR, "#rate-form button").click()
    assert wait.until(ec.visibility_of_element_located((By.ID, "rating"))).text == "满意"
