"""JS-SDK signatures for WeCom's in-app browser: wx.config (the corp's jsapi_ticket) and
wx.agentConfig (the app's agent_config ticket).

    signatures("https://toolbox.example/h5/staff/items/7?box=todo")
    # {"config": {"corpId", "timestamp", "nonceStr", "signature"},
    #  "agentConfig": {"corpId", "agentId", "timestamp", "nonceStr", "signature"}}

WeCom's algorithm: signature = sha1("jsapi_ticket=T&noncestr=N&timestamp=S&url=U"), the fields in that
order, nothing URL-encoded, the URL without its #fragment. WeCom allows few ticket fetches (400 an
hour per corp, 100 per app), so each ticket is cached for its lifetime (7200 s) less a margin — in
Redis, shared by every process, with a lock so that only one process fetches — and refreshed before
it expires. A page whose wx.config WeCom refuses as stale (40093, 42012) asks once with refresh=True;
a ticket younger than MIN_REFRESH_SECONDS is kept, so refresh requests cannot exhaust the quota.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time

from flask import current_app

from app.services.redis_conn import get_redis
from app.wecom.client import WeComError, get_client

log = logging.getLogger(__name__)

# kind → (endpoint, query): the corp ticket signs wx.config, the agent ticket wx.agentConfig.
TICKET_ENDPOINTS = {"corp": ("get_jsapi_ticket", {}), "agent": ("ticket/get", {"type": "agent_config"})}
TICKET_SAFETY_MARGIN = 300      # seconds before WeCom's expiry when a cached ticket is replaced
MIN_REFRESH_SECONDS = 60        # a forced refresh keeps a ticket fetched this recently (setting
                                # WECOM_TICKET_MIN_REFRESH_SECONDS)
REFETCH_ERRORS = frozenset({40093, 42012})  # invalid signature / ticket not available: fetch once more
_LOCK_SECONDS = 10

_memory: dict[str, dict] = {}   # embedded mode: one process, one cache
_memory_lock = threading.Lock()


def sign(ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """WeCom's JS-SDK signature (its documentation's example: see tests/wecom/test_jssdk.py)."""
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode()).hexdigest()


def _cache_key(kind: str) -> str:
    cfg = current_app.config
    return f"wecom:jsapi_ticket:{cfg['WECOM_CORP_ID']}:{cfg['WECOM_AGENT_ID']}:{kind}"


def _load(key: str) -> dict | None:
    conn = get_redis()
    if conn is None:
        entry = _memory.get(key)
        return entry if entry and entry["valid_until"] > time.time() else None
    raw = conn.get(key)
    return json.loads(raw) if raw else None


def _store(key: str, entry: dict, ttl: int) -> None:
    conn = get_redis()
    if conn is None:
        _memory[key] = entry
    else:
        conn.set(key, json.dumps(entry), ex=ttl)


def _fetch(kind: str) -> tuple[str, int]:
    endpoint, params = TICKET_ENDPOINTS[kind]
    for attempt in (1, 2):
        try:
            result = get_client().get(endpoint, **params)  # the client retries once on a stale token
            return result["ticket"], int(result.get("expires_in", 7200))
        except WeComError as err:
            if err.errcode in REFETCH_ERRORS and attempt == 1:
                continue
            raise
    raise AssertionError("unreachable")


class _Lock:
    """One fetcher per ticket across processes (Redis SET NX), or per process in embedded mode."""

    def __init__(self, key: str):
        self.key, self.token, self.conn = f"{key}:lock", secrets.token_hex(8), get_redis()

    def __enter__(self):
        if self.conn is None:
            _memory_lock.acquire()
            return self
        deadline = time.monotonic() + _LOCK_SECONDS
        while not self.conn.set(self.key, self.token, nx=True, ex=_LOCK_SECONDS):
            if time.monotonic() > deadline:
                break  # a dead holder: its lock expires; fetch anyway rather than fail the page
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        if self.conn is None:
            _memory_lock.release()
        elif self.conn.get(self.key) == self.token.encode():
            self.conn.delete(self.key)


def get_ticket(kind: str, *, refresh: bool = False) -> str:
    """The cached ticket of this kind ("corp" or "agent"), fetched from WeCom when missing or stale."""
    key = _cache_key(kind)
    cached = _load(key)
    keep_for = current_app.config.get("WECOM_TICKET_MIN_REFRESH_SECONDS", MIN_REFRESH_SECONDS)
    if cached is not None and (not refresh or time.time() - cached["fetched_at"] < keep_for):
        return cached["ticket"]
    with _Lock(key):
        again = _load(key)
        if again is not None and again != cached:  # another process fetched one while we waited
            return again["ticket"]
        ticket, expires_in = _fetch(kind)
        ttl = max(expires_in - TICKET_SAFETY_MARGIN, 60)
        now = time.time()
        _store(key, {"ticket": ticket, "fetched_at": now, "valid_until": now + ttl}, ttl)
        log.info("WeCom %s jsapi ticket fetched (cached %ss)", kind, ttl)
        return ticket


def _nonce() -> str:
    return secrets.token_hex(8)


def signatures(url: str, *, refresh: bool = False) -> dict:
    """Both signatures for a page URL (the fragment is dropped, as WeCom's client does)."""
    url = url.split("#", 1)[0]
    cfg = current_app.config
    timestamp = int(time.time())
    config_nonce, agent_nonce = _nonce(), _nonce()
    return {
        "url": url,
        "config": {"corpId": cfg["WECOM_CORP_ID"], "timestamp": timestamp, "nonceStr": config_nonce,
                   "signature": sign(get_ticket("corp", refresh=refresh), config_nonce, timestamp, url)},
        "agentConfig": {"corpId": cfg["WECOM_CORP_ID"], "agentId": str(cfg["WECOM_AGENT_ID"]),
                        "timestamp": timestamp, "nonceStr": agent_nonce,
                        "signature": sign(get_ticket("agent", refresh=refresh), agent_nonce, timestamp, url)},
    }
