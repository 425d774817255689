"""What every citizen-report test needs: photos stored in the test's folder, and a place with a Jing'an code."""

import pytest

from toolbox.citizen_report.tests.helpers import make_place


@pytest.fixture(autouse=True)
def _media(media_root):
    return media_root


@pytest.fixture
def place(app, district):
    return make_place(app, district)
