"""The workflow tests' fixtures (a tool raising items, an item factory, an API actor) for assessment."""

from tests.workflow.conftest import api, new_item, wf_tool  # noqa: F401 - fixtures
