"""The suite fuzzes its own API: schemathesis generates requests from /api/openapi.json (valid and invalid,
a few per operation) and sends them with a real token. Any 5xx, an undocumented status, or an answer the
document does not describe fails the test: the document is a contract a client generator can trust.

Bounded for speed (FUZZ_EXAMPLES per operation, deterministic, no shrinking); FUZZ_EXAMPLES=50 makes it
a deeper search for a local run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Who calls what: the three admins have no business data, the business roles no admin API (三员分立).
ADMIN_PATHS = ("/api/v1/admin/", "/api/v1/tools/citizen_report/open311-keys")


@pytest.fixture
def fuzz_schema(app, district, wecom_sim):  # logins reach the local WeCom simulator
    config = schemathesis.Config.from_dict({
        "generation": {"max-examples": FUZZ_EXAMPLES, "deterministic": True, "no-shrink": True,
                       "allow-x00": True, "mode": "all"},
        "phases": {"stateful": {"enabled": False}},
    })
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)


@pytest.fixture
def tokens(auth):
    issued: dict[str, str] = {}

    def for_path(path: str) -> dict:
        userid = "ja-admin" if path.startswith(ADMIN_PATHS) else "ja-operator"
        if userid not in issued:
            issued[userid] = auth.token(userid)
        return {"Authorization": f"Bearer {issued[userid]}"}
    return for_path


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_its_document(case, tokens):
    headers = {**(case.headers or {}), **tokens(case.path)}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)
