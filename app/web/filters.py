"""Template filters the pages share: Beijing time, time left in working days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.models.base import utcnow
from app.services.workdays import TZ, local_date, working_days_between


def local_dt(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TZ).strftime(fmt)


def time_left(due, now: datetime | None = None) -> str:
    """'剩 2 天 3 小时' / '已超期 5 小时': a human reading of a deadline (calendar time)."""
    if not due:
        return ""
    now = now or utcnow()
    seconds = int((due - now).total_seconds())
    late, seconds = seconds < 0, abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    elif hours:
        text = f"{hours} 小时 {minutes} 分" if minutes else f"{hours} 小时"
    else:
        text = f"{max(minutes, 1)} 分钟"
    return f"已超期 {text}" if late else f"剩 {text}"


def deadline_text(due, now: datetime | None = None) -> str:
    """A deadline as staff count it: working days left, or hours on the last day, or how late."""
    if not due:
        return ""
    now = now or utcnow()
    if due <= now:
        return time_left(due, now)
    today, last = local_date(now), local_date(due)
    if last == today:
        return f"今日到期，{time_left(due, now)}"
    days = working_days_between(today + timedelta(days=1), last)
    return f"还剩 {days} 个工作日（不含今天）"


def register(app) -> None:
    app.add_template_filter(local_dt, "local_dt")
    app.add_template_filter(time_left, "time_left")
    app.add_template_filter(deadline_text, "deadline_text")
