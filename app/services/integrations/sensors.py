"""Sensor readings in (物联感知): devices bound to places, batches of readings, the time-series table,
and rules that act on readings.

A rule is data: `ThresholdRule` — a metric over a threshold for a time raises once per episode, and the
episode ends only when a reading falls below the threshold minus the hysteresis. A tool declares the rules
it acts on (the flood duty tool: water depth over a flood point's threshold) through the tool kit
(`tk.sensor_rule`); a rule names callables, so app/ never imports a tool. The same kind of rule can be
declared as data by a tool defined without code (`ThresholdRule.from_dict`).

Readings go to `integration_reading`: on PostgreSQL a table partitioned by month (the migration makes it,
`ensure_partitions` keeps months ahead, `apply_retention` drops old months); on SQLite a plain table.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, insert, or_, select, text, update

from app.errors import ApiError
from app.extensions import db
from app.jobs import job, periodic
from app.models.base import utcnow
from app.models.integration import IntegrationSystem, SensorDevice, SensorEpisode, SensorReading
from app.models.place import Place
from app.models.users import User
from app.services import audit

MAX_BATCH = 5000


# --- rules --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ThresholdRule:
    """`metric` at or over threshold(place) for `for_seconds` → on_start once; below threshold − hysteresis
    → on_end. threshold returns None where the rule does not apply (a place that is no flood point)."""

    name: str
    metric: str
    threshold: Callable[[Place], float | None]
    for_seconds: Callable[[], float] | float = 0
    hysteresis: Callable[[], float] | float = 0
    on_start: Callable | None = None   # (place, episode, value, actor) -> dict (kept in episode.detail)
    on_end: Callable | None = None     # (place, episode, value, actor) -> None

    kind = "threshold_for_duration"

    def _value(self, setting) -> float:
        return float(setting() if callable(setting) else setting)

    def duration(self) -> float:
        return self._value(self.for_seconds)

    def band(self) -> float:
        return self._value(self.hysteresis)

    @classmethod
    def from_dict(cls, spec: dict, **callbacks) -> ThresholdRule:
        """The same rule as data, in the shape of app/services/rules.py's kinds: {"code", "kind":
        "threshold_for_duration", "field": <metric>, "value": <threshold>, "for_seconds", "hysteresis"}."""
        if spec.get("kind", cls.kind) != cls.kind:
            raise ValueError(f"not a {cls.kind} rule: {spec.get('kind')!r}")
        limit = float(spec["value"])
        return cls(name=spec["code"], metric=spec["field"], threshold=lambda place: limit,
                   for_seconds=float(spec.get("for_seconds", 0)), hysteresis=float(spec.get("hysteresis", 0)),
                   **callbacks)

    def to_dict(self, place: Place | None = None) -> dict:
        return {"code": self.name, "kind": self.kind, "field": self.metric, "op": ">=",
                "value": self.threshold(place) if place is not None else None, "for_seconds": self.duration(),
                "hysteresis": self.band()}


RULES: dict[str, ThresholdRule] = {}


def sensor_rule(rule: ThresholdRule) -> ThresholdRule:
    """Declare a rule over readings (idempotent by name: importing twice keeps one)."""
    RULES[rule.name] = rule
    return rule


def rules_for(metric: str) -> list[ThresholdRule]:
    return [r for r in RULES.values() if r.metric == metric]


# --- devices ------------------------------------------------------------------------------------------

def register_device(system: IntegrationSystem, data: dict, actor) -> SensorDevice:
    """Register a device at a place, or rebind it (same device_id). THE CALLER COMMITS."""
    place = db.session.execute(select(Place).where(Place.code == data["place_code"].strip().upper())
                               ).scalar_one_or_none()
    if place is None:
        raise ApiError(422, "validation_error", "设备信息有误", "The device is invalid",
                       fields={"place_code": ["静安码不存在"]})
    device = db.session.execute(select(SensorDevice).where(
        SensorDevice.system_id == system.id, SensorDevice.device_id == data["device_id"])).scalar_one_or_none()
    if device is None:
        device = SensorDevice(system_id=system.id, device_id=data["device_id"])
        db.session.add(device)
    device.place_id, device.metric, device.unit, device.active = place.id, data["metric"], data["unit"], True
    db.session.flush()
    audit.record("integration.device", target_type="integration_device", target_id=device.id, actor=actor,
                 detail={"system": system.code, "device_id": device.device_id, "place": place.code,
                         "metric": device.metric, "unit": device.unit})
    return device


def devices_of(system: IntegrationSystem) -> list[SensorDevice]:
    return list(db.session.execute(select(SensorDevice).where(SensorDevice.system_id == system.id)
                                   .order_by(SensorDevice.device_id)).scalars())


def device_view(device: SensorDevice) -> dict:
    place = db.session.get(Place, device.place_id)
    return {"device_id": device.device_id, "place_code": place.code if place else None, "metric": device.metric,
            "unit": device.unit, "active": device.active, "last_value": device.last_value,
            "last_at": device.last_at.isoformat() if device.last_at else None}


# --- readings in ---------------------------------------------------------------------------------------

def _parse_at(raw) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo is not None else None


def _check(reading, devices: dict, now: datetime, latest_ok: datetime, oldest_ok: datetime):
    """(device, at, value) or the reason the reading is rejected."""
    if not isinstance(reading, dict):
        return "not_an_object"
    device = devices.get(reading.get("device_id"))
    if device is None or not device.active:
        return "unknown_device"
    if reading.get("metric") != device.metric:
        return "wrong_metric"
    value = reading.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "invalid_value"
    at = _parse_at(reading.get("at"))
    if at is None:
        return "invalid_time"
    if at > latest_ok:
        return "time_in_future"
    if at < oldest_ok:
        return "too_old"
    return device, at, float(value)


@dataclass(frozen=True)
class DeviceInfo:
    """What a batch needs of a device, read once (plain values: no ORM object to reload after a commit)."""

    id: int
    device_id: str
    metric: str
    place_id: int
    active: bool


def _devices(system: IntegrationSystem, readings: list) -> dict[str, DeviceInfo]:
    ids = {r.get("device_id") for r in readings if isinstance(r, dict) and isinstance(r.get("device_id"), str)}
    if not ids:
        return {}
    rows = db.session.execute(select(SensorDevice.id, SensorDevice.device_id, SensorDevice.metric,
                                     SensorDevice.place_id, SensorDevice.active).where(
        SensorDevice.system_id == system.id, SensorDevice.device_id.in_(ids)))
    return {r.device_id: DeviceInfo(*r) for r in rows}


def receive(system: IntegrationSystem, readings: list) -> dict:
    """Store the valid readings of a batch, reject the others one by one, then apply the rules. Commits."""
    if len(readings) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"每批最多 {MAX_BATCH} 条读数", f"At most {MAX_BATCH} readings a batch")
    now = utcnow()
    devices = _devices(system, readings)
    latest_ok = now + timedelta(seconds=current_app.config["READING_MAX_FUTURE_SECONDS"])
    oldest_ok = now - timedelta(days=31 * current_app.config["READING_RETENTION_MONTHS"])
    rows, problems, by_device = [], [], defaultdict(list)
    for index, reading in enumerate(readings):
        checked = _check(reading, devices, now, latest_ok, oldest_ok)
        if isinstance(checked, str):
            problems.append({"index": index, "reason": checked})
            continue
        device, at, value = checked
        rows.append((device.id, at, value))
        by_device[device.id].append((at, value))
    if rows:
        _insert(rows)
        _note_last_values(by_device)
    db.session.commit()
    if by_device:
        apply_rules(system, {d.id: d for d in devices.values()}, by_device)
    return {"accepted": len(rows), "rejected": len(problems), "problems": problems[:100]}


def _insert(rows: list[tuple]) -> None:
    """Insert, ignoring exact repeats of (device, time): a retried batch is accepted again, stored once.

    On PostgreSQL: COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING (COPY itself
    cannot skip conflicts), in the caller's transaction.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS integration_reading_in (device_pk integer, "
                        "at timestamptz, value double precision) ON COMMIT DELETE ROWS")
            with cur.copy("COPY integration_reading_in (device_pk, at, value) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute("INSERT INTO integration_reading (device_pk, at, value) SELECT device_pk, at, value "
                        "FROM integration_reading_in ON CONFLICT DO NOTHING")
        return
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        stmt = sqlite_insert(SensorReading).on_conflict_do_nothing()
    else:
        stmt = insert(SensorReading)
    db.session.execute(stmt, [{"device_pk": d, "at": at, "value": v} for d, at, v in rows])


def _note_last_values(by_device: dict) -> None:
    """Each device's newest reading, in one statement for the batch (only where it is newer than the last)."""
    table = SensorDevice.__table__
    params = [{"pk": pk, "new_at": max(points)[0], "new_value": max(points)[1]} for pk, points in by_device.items()]
    db.session.execute(
        update(table).where(table.c.id == bindparam("pk"),
                            or_(table.c.last_at.is_(None), table.c.last_at <= bindparam("new_at")))
        .values(last_at=bindparam("new_at"), last_value=bindparam("new_value")), params)


# --- rules over readings -----------------------------------------------------------------------------

def service_user(system: IntegrationSystem) -> User:
    """The account a system's automatic actions are recorded under (no memberships: it sees nothing)."""
    userid = f"integration:{system.code}"
    user = db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one_or_none()
    if user is None:
        user = User(wecom_userid=userid, name=system.name[:64], active=True, origin="system")
        db.session.add(user)
        db.session.flush()
    return user


def apply_rules(system: IntegrationSystem, devices: dict[int, DeviceInfo], by_device: dict) -> None:
    """Walk each device's new readings in time order through the rules on its metric; each device commits."""
    ruled = {pk: rules_for(devices[pk].metric) for pk in by_device}
    ruled = {pk: rules for pk, rules in ruled.items() if rules}
    place_ids = {devices[pk].place_id for pk in ruled}
    places = {p.id: p for p in db.session.execute(select(Place).where(Place.id.in_(place_ids))).scalars()} \
        if place_ids else {}
    for device_pk, rules in ruled.items():
        device, points = devices[device_pk], by_device[device_pk]
        place = places.get(device.place_id)
        for rule in rules:
            threshold = rule.threshold(place)
            if threshold is None:
                continue
            _walk(system, device, place, rule, float(threshold), sorted(points))
            db.session.commit()


def _walk(system, device, place, rule: ThresholdRule, threshold: float, points) -> None:
    episode = db.session.execute(select(SensorEpisode).where(
        SensorEpisode.device_pk == device.id, SensorEpisode.rule == rule.name, SensorEpisode.ended_at.is_(None))
        .with_for_update()).scalar_one_or_none()
    clear_below, duration = threshold - rule.band(), rule.duration()
    for at, value in points:
        if episode is not None and at < episode.above_since:
            continue  # a late reading from before the episode began changes nothing
        if value >= threshold:
            if episode is None:
                episode = SensorEpisode(device_pk=device.id, rule=rule.name, above_since=at, peak=value, detail={})
                db.session.add(episode)
            episode.peak = max(episode.peak, value)
            if episode.raised_at is None and (at - episode.above_since).total_seconds() >= duration:
                episode.raised_at = utcnow()
                if rule.on_start is not None:
                    episode.detail = dict(rule.on_start(place, episode, value, service_user(system)) or {})
        elif episode is not None and (value < clear_below or episode.raised_at is None):
            # Under the band ends a raised episode; any dip under the threshold resets one not yet raised.
            episode.ended_at = at
            if episode.raised_at is not None and rule.on_end is not None:
                rule.on_end(place, episode, value, service_user(system))
            episode = None
    db.session.flush()


# --- the time-series table's upkeep (PostgreSQL) -----------------------------------------------------

def _month_start(day: datetime) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def _next_month(day: datetime) -> datetime:
    return datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"integration_reading_{month:%Y_%m}"


def is_partitioned() -> bool:
    if db.session.get_bind().dialect.name != "postgresql":
        return False
    return bool(db.session.execute(text(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = 'integration_reading'")).first())


@periodic("integrations.reading_partitions", 6 * 3600)
@job("default")
def ensure_partitions(months_ahead: int = 3) -> list[str]:
    """Create this month's and the next months' partitions (readings outside them land in the default one)."""
    if not is_partitioned():
        return []
    made, month = [], _month_start(utcnow())
    for _ in range(months_ahead + 1):
        name, upper = partition_name(month), _next_month(month)
        exists = db.session.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
        if exists is None:
            db.session.execute(text(
                f"CREATE TABLE {name} PARTITION OF integration_reading "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"))
            made.append(name)
        month = upper
    db.session.commit()
    return made


@periodic("integrations.reading_retention", 24 * 3600)
@job("default")
def apply_retention() -> dict:
    """Drop whole months older than READING_RETENTION_MONTHS (PostgreSQL), or delete old rows (SQLite)."""
    months = current_app.config["READING_RETENTION_MONTHS"]
    cutoff = _month_start(utcnow())
    for _ in range(months):
        cutoff = _month_start(cutoff - timedelta(days=1))
    dropped = []
    if is_partitioned():
        names = db.session.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'integration_reading'")).scalars().all()
        for name in sorted(names):
            stamp = name.removeprefix("integration_reading_")
            if stamp.count("_") == 1 and stamp.replace("_", "").isdigit():
                year, month = (int(x) for x in stamp.split("_"))
                if datetime(year, month, 1, tzinfo=UTC) < cutoff:
                    db.session.execute(text(f"DROP TABLE {name}"))
                    dropped.append(name)
    deleted = db.session.execute(SensorReading.__table__.delete().where(SensorReading.at < cutoff)).rowcount
    db.session.commit()
    return {"dropped": dropped, "deleted": deleted, "cutoff": cutoff.isoformat()}
