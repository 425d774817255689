"""Job functions the job tests queue (RQ imports them by dotted path, so they live in a module)."""

from app.extensions import db
from app.jobs import job
from app.services import audit
from app.services.redis_conn import get_redis


@job("default")
def write_marker(label: str) -> str:
    """A job with a visible effect: an audit row."""
    audit.record("test.marker", detail={"label": label})
    db.session.commit()
    return label


@job("notify")
def always_fails(counter_key: str) -> None:
    """Counts its attempts in Redis (or nowhere, inline) and fails every time."""
    conn = get_redis()
    if conn is not None:
        conn.incr(counter_key)
    raise RuntimeError("WeCom said no")


@job("default")
def heartbeat() -> str:
    """A no-argument job for the periodic scheduler tests."""
    write_marker("heartbeat")
    return "beat"


@job("default")
def asks_for_a_marker(label: str) -> str:
    """A job that writes and asks for another job, and does not commit: the worker still sends it."""
    audit.record("test.marker", detail={"label": f"asked-{label}"})
    write_marker.delay(label)
    return label
