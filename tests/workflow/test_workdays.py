"""Working days: weekends, public holidays and adjusted working days (调休) from the stored calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.extensions import db
from app.services import workdays


def shanghai_noon(d: str) -> datetime:
    return datetime.fromisoformat(d + "T04:00:00").replace(tzinfo=UTC)


def due_day(start: str, days: int) -> date:
    return workdays.local_date(workdays.add_working_days(shanghai_noon(start), days))


def test_weekends_are_skipped_without_a_calendar(ctx):
    assert due_day("2026-11-20", 1) == date(2026, 11, 23)  # Friday + 1 → Monday
    assert due_day("2026-11-23", 5) == date(2026, 11, 30)
    deadline = workdays.add_working_days(shanghai_noon("2026-11-23"), 1)
    assert deadline.astimezone(workdays.TZ).time().isoformat() == "23:59:59"


def test_start_on_a_weekend_counts_from_monday(ctx):
    assert due_day("2026-11-21", 1) == date(2026, 11, 23)
    assert due_day("2026-11-21", 0) == date(2026, 11, 23)


def test_official_calendar_skips_national_day_and_counts_adjusted_saturday(ctx):
    assert due_day("2026-09-30", 1) == date(2026, 10, 1)  # an empty calendar knows only weekends
    workdays.load_official()
    db.session.commit()
    assert due_day("2026-09-30", 1) == date(2026, 10, 8)  # 10-01..07 are holidays
    assert due_day("2026-10-08", 1) == date(2026, 10, 9)
    assert due_day("2026-10-09", 1) == date(2026, 10, 10)  # Saturday 10-10 is a 调休 working day
    assert due_day("2026-09-18", 1) == date(2026, 9, 20)   # Sunday 09-20 is a 调休 working day
    assert due_day("2026-02-13", 1) == date(2026, 2, 14)
    assert due_day("2026-02-14", 1) == date(2026, 2, 24)   # Spring Festival 02-15..23


def test_admin_marked_holiday_moves_deadlines(ctx):
    assert due_day("2026-11-23", 1) == date(2026, 11, 24)
    workdays.set_day(date(2026, 11, 24), "holiday", "台风停工", changed_by="ja-admin")
    db.session.commit()
    assert due_day("2026-11-23", 1) == date(2026, 11, 25)
    assert workdays.working_days_between(date(2026, 11, 23), date(2026, 11, 29)) == 4
    assert workdays.clear_day(date(2026, 11, 24))
    db.session.commit()
    assert due_day("2026-11-23", 1) == date(2026, 11, 24)


def test_loading_the_official_calendar_twice_changes_nothing(ctx):
    n = workdays.load_official()
    db.session.commit()
    assert workdays.load_official() == n
    db.session.commit()
    from sqlalchemy import func, select

    from app.models.workitem import CalendarDay
    assert db.session.execute(select(func.count()).select_from(CalendarDay)).scalar_one() == n
