"""Scheduled anonymisation of reporters' contact data, and the `flask toolbox citizen-report` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.jobs import job, periodic


@periodic("citizen_report.anonymise", 24 * 3600)
@job("default")
def anonymise_contacts() -> int:
    """Daily: erase contact data N months (CITIZEN_ANONYMISE_AFTER_MONTHS) after a report's item closed."""
    from toolbox.citizen_report.services import anonymise_closed_reports
    return anonymise_closed_reports()


@periodic("citizen_report.settle_drafts", 10 * 60)
@job("default")
def settle_drafts() -> int:
    """Every 10 minutes: unanswered duplicate offers older than 30 minutes join the open report."""
    from toolbox.citizen_report.services import settle_stale_drafts
    return settle_stale_drafts()


citizen_report_cli = AppGroup("citizen-report", help="静安码随手拍: Open311 keys and data retention.")


@citizen_report_cli.command("anonymise")
def anonymise_command():
    """Anonymise reporters' contacts now (the scheduler also does this daily)."""
    from toolbox.citizen_report.services import anonymise_closed_reports
    click.echo(f"anonymised {anonymise_closed_reports()} report(s)")


@citizen_report_cli.command("open311-key")
@click.argument("name")
def open311_key_command(name: str):
    """Issue an Open311 api_key for a civic-tech client (the key is shown once)."""
    from toolbox.citizen_report.open311 import issue_api_key
    key, row = issue_api_key(name, "cli")
    click.echo(f"api_key for {row.name} (id {row.id}): {key}")


def register_cli() -> None:
    from app.cli import toolbox_cli
    if "citizen-report" not in toolbox_cli.commands:
        toolbox_cli.add_command(citizen_report_cli)
