"""/api/docs in a real headless Chromium: Swagger UI renders every operation with its schemas and
try-it-out, from the swagger-ui-bundle package's files on this server only (no CDN)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_is_a_browsable_reference_served_locally(live_server, chromium, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium(1280, 900)
    driver.get(f"{live_server.url}/api/docs")
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 50)
    assert "listWorkItems" in driver.page_source  # operation ids are shown
    screenshots.take(driver, "api-docs")

    # One operation opened: its parameters, try-it-out, and the schema of its answer.
    block = driver.find_element(By.CSS_SELECTOR, "#operations-work-items-listWorkItems .opblock-summary-control")
    driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click()", block)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#operations-work-items-listWorkItems .try-out__btn"))
    assert driver.find_elements(By.CSS_SELECTOR, "#operations-work-items-listWorkItems .parameters")
    screenshots.take(driver, "list-work-items")
    assert driver.find_elements(By.CSS_SELECTOR, ".models .model-container")  # the schemas section

    # Everything the page loaded came from this server.
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(url.startswith(live_server.url) for url in resources), resources
