"""Working days in Shanghai: Monday–Friday, except public holidays, plus adjusted working days (调休).

The exceptions live in the `calendar_day` table, updatable by the system admin (API) and the CLI.
OFFICIAL_CALENDAR is the data we ship, transcribed from the State Council General Office's notices:
  2025: 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号, 2024-11-12)
  2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04, Xinhua; e.g. politics.gmw.cn)
Later years must be loaded by the admin once the State Council publishes them (usually in November).

A limit of N working days ends at the end (23:59:59, Shanghai) of the N-th working day after the
day the clock starts; a clock that starts on a non-working day counts from the next working day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models.workitem import CalendarDay

TZ = ZoneInfo("Asia/Shanghai")
SOURCE_2025 = "国办发明电〔2024〕12号"
SOURCE_2026 = "国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04)"


def _span(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _official() -> list[tuple[date, str, str, str]]:
    rows: list[tuple[date, str, str, str]] = []

    def holiday(first, last, name, source):
        rows.extend((d, "holiday", name, source) for d in _span(first, last))

    def workday(day, name, source):
        rows.append((date.fromisoformat(day), "workday", name, source))

    s = SOURCE_2025
    holiday("2025-01-01", "2025-01-01", "元旦", s)
    holiday("2025-01-28", "2025-02-04", "春节", s)
    workday("2025-01-26", "春节调休上班", s)
    workday("2025-02-08", "春节调休上班", s)
    holiday("2025-04-04", "2025-04-06", "清明节", s)
    holiday("2025-05-01", "2025-05-05", "劳动节", s)
    workday("2025-04-27", "劳动节调休上班", s)
    holiday("2025-05-31", "2025-06-02", "端午节", s)
    holiday("2025-10-01", "2025-10-08", "国庆节、中秋节", s)
    workday("2025-09-28", "国庆节调休上班", s)
    workday("2025-10-11", "国庆节调休上班", s)

    s = SOURCE_2026
    holiday("2026-01-01", "2026-01-03", "元旦", s)
    workday("2026-01-04", "元旦调休上班", s)
    holiday("2026-02-15", "2026-02-23", "春节", s)
    workday("2026-02-14", "春节调休上班", s)
    workday("2026-02-28", "春节调休上班", s)
    holiday("2026-04-04", "2026-04-06", "清明节", s)
    holiday("2026-05-01", "2026-05-05", "劳动节", s)
    workday("2026-05-09", "劳动节调休上班", s)
    holiday("2026-06-19", "2026-06-21", "端午节", s)
    holiday("2026-09-25", "2026-09-27", "中秋节", s)
    holiday("2026-10-01", "2026-10-07", "国庆节", s)
    workday("2026-09-20", "国庆节调休上班", s)
    workday("2026-10-10", "国庆节调休上班", s)
    return rows


OFFICIAL_CALENDAR = _official()


def load_official(changed_by: str = "system") -> int:
    """Insert or refresh the shipped calendar (caller commits); returns the number of days written."""
    for day, kind, name, source in OFFICIAL_CALENDAR:
        set_day(day, kind, name, changed_by=changed_by, source=source)
    return len(OFFICIAL_CALENDAR)


def set_day(day: date, kind: str, name: str = "", *, changed_by: str | None = None,
            source: str | None = None) -> CalendarDay:
    if kind not in ("holiday", "workday"):
        raise ValueError("kind must be 'holiday' or 'workday'")
    row = db.session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    row.kind, row.name, row.changed_by = kind, name, changed_by
    row.source = source if source is not None else f"manual:{changed_by}"
    return row


def clear_day(day: date) -> bool:
    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    db.session.delete(row)
    return True


def _exceptions(first: date, last: date) -> dict[date, str]:
    rows = db.session.execute(
        select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.day >= first, CalendarDay.day <= last))
    return {day: kind for day, kind in rows}


def _is_working(day: date, exceptions: dict[date, str]) -> bool:
    kind = exceptions.get(day)
    if kind is not None:
        return kind == "workday"
    return day.weekday() < 5


def is_working_day(day: date) -> bool:
    return _is_working(day, _exceptions(day, day))


def local_date(at: datetime) -> date:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(TZ).date()


def add_working_days(start: datetime, days: int) -> datetime:
    """The deadline `days` working days after `start`: the end of that working day, in UTC."""
    if days < 0:
        raise ValueError("days must be >= 0")
    day = local_date(start)
    # Holidays never last more than ~10 days, so this window always holds the answer.
    exceptions = _exceptions(day, day + timedelta(days=days * 2 + 60))
    if days == 0:
        while not _is_working(day, exceptions):
            day += timedelta(days=1)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if _is_working(day, exceptions):
            counted += 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=TZ).astimezone(UTC)


def working_days_between(first: date, last: date) -> int:
    """Working days in [first, last]."""
    exceptions = _exceptions(first, last)
    return sum(1 for i in range((last - first).days + 1) if _is_working(first + timedelta(days=i), exceptions))


class WorkingCalendar:
    """The calendar read once, for computing many items' clocks (assessment facts, rebuilds)."""

    def __init__(self):
        self._exceptions = dict(db.session.execute(select(CalendarDay.day, CalendarDay.kind)).all())

    def is_working(self, day: date) -> bool:
        return _is_working(day, self._exceptions)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """As add_working_days(), from the calendar in memory."""
        day = local_date(start)
        if days == 0:
            while not self.is_working(day):
                day += timedelta(days=1)
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working(day):
                counted += 1
        return datetime.combine(day, time(23, 59, 59), tzinfo=TZ).astimezone(UTC)

    def between(self, first: date, last: date) -> int:
        """Working days in [first, last] (0 when last is before first)."""
        return sum(1 for i in range((last - first).days + 1) if self.is_working(first + timedelta(days=i)))
