"""The shared Redis connection, or None when REDIS_URL is unset (embedded mode)."""

from __future__ import annotations

import redis
from flask import Flask, current_app


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    # Bounded waits: an unreachable Redis must cost a request seconds, not hang it (the callers fall back).
    app.extensions["redis"] = redis.Redis.from_url(
        url, socket_connect_timeout=app.config.get("REDIS_CONNECT_TIMEOUT", 2),
        socket_timeout=app.config.get("REDIS_SOCKET_TIMEOUT", 5)) if url else None


def get_redis() -> redis.Redis | None:
    return current_app.extensions.get("redis")
