"""The app's outer contract: health, JSON errors under /api, never HTML or a traceback."""

import pytest

from app.auth import public
from tests.fixtures import USE_REDIS


def test_healthz_reports_database_and_redis(client):
    body = client.get("/healthz").get_json()
    assert body["database"] == "ok"
    assert body["redis"] == ("ok" if USE_REDIS else "not configured")
    assert body["status"] == "ok"


def test_healthz_reports_an_unreachable_redis_as_degraded_but_serving(make_app):
    # 200: the host still serves (jobs wait in the outbox, limits count locally); see README "Reliability"
    body = make_app(REDIS_URL="redis://127.0.0.1:1/0").test_client().get("/healthz")
    assert body.status_code == 200
    assert body.get_json()["status"] == "degraded" and body.get_json()["redis"].startswith("error")


def assert_error_shape(response, status, code=None):
    assert response.status_code == status
    assert response.is_json, response.data[:200]
    error = response.get_json()["error"]
    assert set(error) >= {"code", "message", "message_en"}
    if code:
        assert error["code"] == code
    return error


def test_unknown_api_path_is_json_404(client):
    assert_error_shape(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    response = client.delete("/api/v1/org-units")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_missing_token_is_401(client):
    error = assert_error_shape(client.get("/api/v1/org-units"), 401, "unauthenticated")
    assert error["message"] == "请先登录"


def test_garbage_token_is_401(client):
    assert_error_shape(client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}), 401, "invalid_token")


def test_non_json_body_is_400(client, district, auth):
    response = client.put("/api/v1/admin/tools/x/settings", data="not json",
                          headers=auth.headers("ja-admin"), content_type="application/json")
    assert_error_shape(response, 400, "invalid_json")


def test_invalid_query_parameter_is_400(client, district, auth):
    response = client.get("/api/v1/org-units?level=planet", headers=auth.headers("ja-operator"))
    error = assert_error_shape(response, 400, "invalid_query")
    assert "level" in error["fields"]


def test_oversized_body_is_json_413(app, client, district, auth):
    headers = auth.headers("ja-admin")
    old = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 10
    try:
        response = client.put("/api/v1/admin/tools/x/settings", data="x" * 100, headers=headers,
                              content_type="application/json")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = old
    assert_error_shape(response, 413, "payload_too_large")


def test_unexpected_exception_is_json_500_without_traceback(make_app):
    app = make_app()

    @app.get("/api/v1/_boom")
    @public
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/v1/_boom")
    error = assert_error_shape(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in error["message"]


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/docs"])
def test_api_docs_are_public(client, path):
    assert client.get(path).status_code == 200


def test_the_suite_ignores_a_deployments_settings_in_the_callers_environment(tmp_path):
    import subprocess
    import sys

    leaked = {"WECOM_SECRET": "a-real-secret", "WECOM_CORP_ID": "ww_real", "DATABASE_URL": "postgresql://prod/db",
              "REDIS_URL": "redis://prod:6379/0"}
    probe = ("import tests.fixtures as f, pathlib; from app import create_app; "
             f"app = create_app(f.config_for_tests(pathlib.Path({str(tmp_path)!r}))); "
             "import os; print(app.config['WECOM_SECRET'], app.config['WECOM_CORP_ID'], "
             "[n for n in os.environ if n.startswith('WECOM_') or n in ('DATABASE_URL', 'REDIS_URL')])")
    import os
    result = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **leaked}, capture_output=True,
                            text=True, timeout=120, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["demo-secret", "ww_jingan_demo", "[]"]
