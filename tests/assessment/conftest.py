"""Fixtures from the workflow tests (a tool raising items, an item factory, an API actor) and the
workbench tests (the demo district), for assessment."""

from tests.web.conftest import demo  # noqa: F401 - fixtures
from tests.workflow.conftest import api, new_item, wf_tool  # noqa: F401 - fixtures
