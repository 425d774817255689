"""Per-process caches of hot, rarely changing rows (the resolved principal, tool settings), behind a version.

Each cache belongs to one app (app.extensions["local_caches"]). A commit that changes a row a cache
mirrors bumps that cache's version: at once in this process (the cache is emptied), and in Redis
(INCR toolbox:cache-version:<name>) for every other process, which reads the version at most every
VERSION_CHECK_SECONDS (0.5 s), so a change is seen everywhere within 1 s. Without Redis no other
process can be told, so an entry then lives at most 1 s. When Redis cannot be read the cache is
bypassed (every lookup goes to the database), never trusted.

The bump is found by the ORM, not by each caller: a flush of a watched row (new, changed, deleted) or
a bulk UPDATE/DELETE of a watched table marks the session; its commit bumps. So no path (API, CLI,
directory sync, a test's UPDATE) can change a token, a person, a role or a setting and leave a stale
copy behind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

VERSION_CHECK_SECONDS = 0.5
NO_REDIS_MAX_AGE = 1.0
_UNKNOWN = object()  # Redis could not be read: the cache is not trusted until it can
_MARK = "local_cache_bumps"

# cache name → the tables whose rows it mirrors
WATCHED_TABLES: dict[str, frozenset[str]] = {
    "principal": frozenset({"api_token", "app_user", "membership", "org_unit"}),
    "tool_settings": frozenset({"tool_setting", "org_unit"}),
    "tool_definitions": frozenset({"tool_definition_version"}),  # which versions are in force (issue 15)
}


class VersionedCache:
    """A dict of entries, valid while the cache's version is unchanged and younger than max_age."""

    def __init__(self, name: str, redis_conn, max_age: float, max_entries: int = 20_000):
        self.name, self.redis, self.max_entries = name, redis_conn, max_entries
        self.max_age = max_age if redis_conn is not None else min(max_age, NO_REDIS_MAX_AGE)
        self.key = f"toolbox:cache-version:{name}"
        self._entries: dict = {}
        self._local = 0
        self._remote = _UNKNOWN
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self.clock = time.monotonic  # tests move it instead of sleeping

    def version(self):
        """The current version (local, remote); None when the cache must not be used."""
        if self.redis is not None:
            now = self.clock()
            if now - self._checked_at >= VERSION_CHECK_SECONDS or self._remote is _UNKNOWN:
                try:
                    self._remote = int(self.redis.get(self.key) or 0)
                except (RedisError, OSError, ValueError):
                    self._remote = _UNKNOWN
                self._checked_at = now
            if self._remote is _UNKNOWN:
                return None
        return (self._local, None if self.redis is None else self._remote)

    def get(self, key):
        """The cached value, or None; also returns the version to store a freshly loaded value under."""
        version = self.version()
        entry = self._entries.get(key)
        if entry is None or version is None or self.max_age <= 0:
            return None, version
        stored_version, stored_at, value = entry
        if stored_version != version or self.clock() - stored_at > self.max_age:
            self._entries.pop(key, None)
            return None, version
        return value, version

    def put(self, key, value, version) -> None:
        """Store value loaded while the version was `version` (taken before the load, so a change
        committed meanwhile makes the entry stale rather than lost)."""
        if version is None or version != self.version():
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (version, self.clock(), value)

    def get_or_load(self, key, load: Callable):
        value, version = self.get(key)
        if value is None:
            value = load()
            self.put(key, value, version)
        return value

    def clear(self) -> None:
        """Forget everything in this process only (tests that empty tables with raw SQL)."""
        with self._lock:
            self._local += 1
            self._entries.clear()

    def bump(self) -> None:
        """Forget everything here; tell the other processes through Redis."""
        with self._lock:
            self._local += 1
            self._entries.clear()
        if self.redis is None:
            return
        try:
            self._remote = int(self.redis.incr(self.key))
            self._checked_at = self.clock()
        except (RedisError, OSError) as exc:
            self._remote = _UNKNOWN  # bypass until Redis answers; others bypass too, or see the next bump
            log.warning("cache %s: could not bump the version in Redis (%s)", self.name, exc)


def init_app(app, max_ages: dict[str, float]) -> None:
    redis_conn = app.extensions.get("redis")
    app.extensions["local_caches"] = {name: VersionedCache(name, redis_conn, max_ages.get(name, 30.0))
                                      for name in WATCHED_TABLES}


def cache(name: str) -> VersionedCache:
    return current_app.extensions["local_caches"][name]


def _mark(session: Session, tables) -> None:
    names = {name for name, watched in WATCHED_TABLES.items() if watched & set(tables)}
    if names:
        session.info.setdefault(_MARK, set()).update(names)


def _touches_principal(obj) -> bool:
    """A token's last_seen_at moving forward is routine use, not a change anyone must be told about."""
    if obj.__table__.name != "api_token":
        return True
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        if attr.key != "last_seen_at":
            return True
        old, new = (history.deleted or [None])[0], (history.added or [None])[0]
        if old is None or new is None or new < old:
            return True
    return False


@event.listens_for(Session, "before_flush")
def _watch_flush(session, flush_context, instances):
    tables = set()
    for obj in session.new | session.deleted:
        tables.add(getattr(getattr(obj, "__table__", None), "name", None))
    for obj in session.dirty:
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table in WATCHED_TABLES["principal"] | WATCHED_TABLES["tool_settings"] and \
                session.is_modified(obj) and _touches_principal(obj):
            tables.add(table)
    _mark(session, tables - {None})


@event.listens_for(Session, "do_orm_execute")
def _watch_bulk(orm_execute_state):
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    table = getattr(orm_execute_state.statement, "table", None)
    if table is not None:
        _mark(orm_execute_state.session, {getattr(table, "name", None)})


@event.listens_for(Session, "after_commit")
def _bump_on_commit(session):
    names = session.info.pop(_MARK, None)
    if not names or not has_app_context():
        return
    caches = current_app.extensions.get("local_caches", {})
    for name in names:
        if name in caches:
            caches[name].bump()
