"""`flask toolbox calendar …` and `flask toolbox work-items …`: the holiday calendar and supervision."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.models.workitem import CalendarDay
from app.services import audit, workdays
from app.services.workflow import supervise_work_items

calendar_cli = AppGroup("calendar", help="Holidays and adjusted working days (调休) that work-item time limits follow.")
work_items_cli = AppGroup("work-items", help="Work-item workflow maintenance.")


@calendar_cli.command("load-official")
def calendar_load_official():
    """Insert or refresh the shipped State Council calendar (2025, 2026)."""
    n = workdays.load_official(changed_by="cli")
    audit.record("calendar.load_official", actor="cli", detail={"days": n})
    db.session.commit()
    click.echo(f"calendar: {n} days loaded from the State Council notices")


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM-DD") from exc


@calendar_cli.command("set")
@click.argument("day")
@click.argument("kind", type=click.Choice(["holiday", "workday"]))
@click.option("--name", default="", help="e.g. 春节 or 春节调休上班")
def calendar_set(day: str, kind: str, name: str):
    """Mark DAY as a holiday or an adjusted working day."""
    workdays.set_day(_day(day), kind, name, changed_by="cli")
    audit.record("calendar.set", actor="cli", target_type="calendar_day", target_id=day,
                 detail={"kind": kind, "name": name})
    db.session.commit()
    click.echo(f"{day}: {kind} {name}".rstrip())


@calendar_cli.command("clear")
@click.argument("day")
def calendar_clear(day: str):
    """Remove DAY's exception (it follows Monday–Friday again)."""
    if not workdays.clear_day(_day(day)):
        raise click.ClickException(f"no exception is set for {day}")
    audit.record("calendar.clear", actor="cli", target_type="calendar_day", target_id=day)
    db.session.commit()
    click.echo(f"{day}: cleared")


@calendar_cli.command("list")
@click.option("--year", type=int, help="only this year")
def calendar_list(year: int | None):
    """Print the stored exceptions."""
    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if year:
        stmt = stmt.where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    for row in db.session.execute(stmt).scalars():
        click.echo(f"{row.day.isoformat()} {row.kind:8} {row.name}")


@work_items_cli.command("supervise")
def work_items_supervise():
    """Run the supervision pass now (remind at 80 %, overdue and 督办 at 100 %, each once)."""
    counts = supervise_work_items()
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
