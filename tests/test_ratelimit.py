"""Rate limits: fixed windows shared through Redis when configured, 429 with Retry-After."""

import pytest

from app.errors import ApiError
from app.services import ratelimit


def test_the_limit_plus_one_is_refused_with_retry_after(ctx):
    for _ in range(3):
        ratelimit.enforce("test:client-a", limit=3, window_seconds=60)
    with pytest.raises(ApiError) as excinfo:
        ratelimit.enforce("test:client-a", limit=3, window_seconds=60)
    assert excinfo.value.status == 429
    assert 0 < excinfo.value.details["retry_after"] <= 60


def test_clients_are_counted_separately(ctx):
    for _ in range(3):
        ratelimit.enforce("test:client-a", limit=3, window_seconds=60)
    ratelimit.enforce("test:client-b", limit=3, window_seconds=60)


def test_reset_forgets_the_counts(ctx):
    for _ in range(3):
        ratelimit.enforce("test:client-a", limit=3, window_seconds=60)
    ratelimit.reset("test:")
    ratelimit.enforce("test:client-a", limit=3, window_seconds=60)


def test_429_response_carries_retry_after(app):
    from app.errors import error_response
    with app.test_request_context():
        response = error_response(ApiError(429, retry_after=17))
    assert response.status_code == 429 and response.headers["Retry-After"] == "17"
    assert response.get_json()["error"]["code"] == "rate_limited"
