"""Scheduled anonymisation of reporters' contact data and duplicate settling (declared as the tool's
periodic jobs), and the `flask toolbox citizen-report` commands (the tool's CLI group)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.toolkit import job
from toolbox.citizen_report.open311 import issue_api_key
from toolbox.citizen_report.services import anonymise_closed_reports, settle_stale_drafts


@job("default")
def anonymise_contacts() -> int:
    """Daily: erase contact data N months (CITIZEN_ANONYMISE_AFTER_MONTHS) after a report's item closed."""
    return anonymise_closed_reports()


@job("default")
def settle_drafts() -> int:
    """Every 10 minutes: unanswered duplicate offers older than 30 minutes join the open report."""
    return settle_stale_drafts()


citizen_report_cli = AppGroup("citizen-report", help="静安码随手拍: Open311 keys and data retention.")


@citizen_report_cli.command("anonymise")
def anonymise_command():
    """Anonymise reporters' contacts now (the scheduler also does this daily)."""
    click.echo(f"anonymised {anonymise_closed_reports()} report(s)")


@citizen_report_cli.command("open311-key")
@click.argument("name")
def open311_key_command(name: str):
    """Issue an Open311 api_key for a civic-tech client (the key is shown once)."""
    key, row = issue_api_key(name, "cli")
    click.echo(f"api_key for {row.name} (id {row.id}): {key}")
