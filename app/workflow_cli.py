"""`flask toolbox calendar …` and `flask toolbox work-items …`: the holiday calendar and supervision."""

from __future__ import annotations

from datetime import date

import click
from sqlalchemy import select

from app.cli import toolbox_cli
from app.extensions import db


@toolbox_cli.group("calendar")
def calendar_group():
    """Holidays and adjusted working days (调休) that work-item time limits follow."""


@calendar_group.command("load-official")
def calendar_load_official():
    """Insert or refresh the shipped State Council calendar (2025, 2026)."""
    from app.services import audit, workdays

    n = workdays.load_official(changed_by="cli")
    audit.record("calendar.load_official", actor="cli", detail={"days": n})
    db.session.commit()
    click.echo(f"calendar: {n} days loaded from the State Council notices")


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM-DD") from exc


@calendar_group.command("set")
@click.argument("day")
@click.argument("kind", type=click.Choice(["holiday", "workday"]))
@click.option("--name", default="", help="e.g. 春节 or 春节调休上班")
def calendar_set(day: str, kind: str, name: str):
    """Mark DAY as a holiday or an adjusted working day."""
    from app.services import audit, workdays

    workdays.set_day(_day(day), kind, name, changed_by="cli")
    audit.record("calendar.set", actor="cli", target_type="calendar_day", target_id=day,
                 detail={"kind": kind, "name": name})
    db.session.commit()
    click.echo(f"{day}: {kind} {name}".rstrip())


@calendar_group.command("clear")
@click.argument("day")
def calendar_clear(day: str):
    """Remove DAY's exception (it follows Monday–Friday again)."""
    from app.services import audit, workdays

    if not workdays.clear_day(_day(day)):
        raise click.ClickException(f"no exception is set for {day}")
    audit.record("calendar.clear", actor="cli", target_type="calendar_day", target_id=day)
    db.session.commit()
    click.echo(f"{day}: cleared")


@calendar_group.command("list")
@click.option("--year", type=int, help="only this year")
def calendar_list(year: int | None):
    """Print the stored exceptions."""
    from app.models.workitem import CalendarDay

    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if year:
        stmt = stmt.where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    for row in db.session.execute(stmt).scalars():
        click.echo(f"{row.day.isoformat()} {row.kind:8} {row.name}")


@toolbox_cli.group("work-items")
def work_items_group():
    """Work-item workflow maintenance."""


@work_items_group.command("supervise")
def work_items_supervise():
    """Run the supervision pass now (remind at 80 %, overdue and 督办 at 100 %, each once)."""
    from app.services.workflow import supervise_work_items

    counts = supervise_work_items()
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
