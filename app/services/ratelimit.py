"""Fixed-window rate limits, in Redis when configured so all processes share the counts.

When Redis is unreachable the limit falls back to this process's memory (logged, at most once a
minute): citizens can still report during an outage, each process limiting on its own meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError

from app.errors import ApiError
from app.services.redis_conn import get_redis

log = logging.getLogger(__name__)

_memory: dict[str, tuple[int, float]] = {}
_lock = threading.Lock()
_last_warned = [0.0]


def _fell_back(exc: Exception) -> None:
    if time.monotonic() - _last_warned[0] > 60:
        _last_warned[0] = time.monotonic()
        log.warning("rate limits: Redis unreachable, counting in process memory meanwhile: %s", exc)


def _memory_hit(full_key: str, window_seconds: int) -> int:
    with _lock:
        count, expires = _memory.get(full_key, (0, time.time() + window_seconds))
        count += 1
        _memory[full_key] = (count, expires)
        for stale in [k for k, (_, exp) in _memory.items() if exp < time.time()]:
            del _memory[stale]
    return count


def hit(key: str, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one hit; return (allowed, seconds until the window resets)."""
    bucket = int(time.time() // window_seconds)
    full_key = f"ratelimit:{key}:{bucket}"
    retry_after = window_seconds - int(time.time() % window_seconds)
    conn = get_redis()
    count = None
    if conn is not None:
        try:
            pipe = conn.pipeline()
            pipe.incr(full_key)
            pipe.expire(full_key, window_seconds + 1)
            count = pipe.execute()[0]
        except RedisError as exc:
            _fell_back(exc)
    if count is None:
        count = _memory_hit(full_key, window_seconds)
    return count <= limit, retry_after


def enforce(key: str, limit: int, window_seconds: int) -> None:
    allowed, retry_after = hit(key, limit, window_seconds)
    if not allowed:
        raise ApiError(429, retry_after=retry_after)


def reset(key_prefix: str = "") -> None:
    """Forget counters (tests, or an admin unblocking a client)."""
    conn = get_redis()
    if conn is not None:
        try:
            for key in conn.scan_iter(f"ratelimit:{key_prefix}*"):
                conn.delete(key)
        except RedisError as exc:
            _fell_back(exc)
    with _lock:
        for key in [k for k in _memory if k.startswith(f"ratelimit:{key_prefix}")]:
            del _memory[key]


def peek(key: str, window_seconds: int) -> tuple[int, int]:
    """(hits counted so far in the current window, seconds until it resets), without counting one."""
    bucket = int(time.time() // window_seconds)
    full_key = f"ratelimit:{key}:{bucket}"
    retry_after = window_seconds - int(time.time() % window_seconds)
    conn = get_redis()
    if conn is not None:
        try:
            value = conn.get(full_key)
            return (int(value) if value else 0), retry_after
        except RedisError as exc:
            _fell_back(exc)
    with _lock:
        return _memory.get(full_key, (0, 0))[0], retry_after
