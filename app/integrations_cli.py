"""`flask toolbox integrations …`: register other systems, rotate their keys, disable them, from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.models.integration import IntegrationSystem
from app.services.integrations import systems

integrations_cli = AppGroup("integrations", help="Other systems: register, rotate keys, disable (issue 19).")
ACTOR = "cli"


def _fail(err: ApiError):
    db.session.rollback()
    detail = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in (err.details.get("fields") or {}).items())
    raise click.ClickException(f"{err.message} {detail}".strip())


def _show_issued(issued: systems.Issued) -> None:
    click.echo(f"system:         {issued.system.code}")
    click.echo(f"api key:        {issued.api_key}")
    click.echo(f"webhook secret: {issued.webhook_secret}")
    if issued.old_valid_until is not None:
        click.echo(f"old key and secret valid until {issued.old_valid_until.isoformat()}")
    click.echo("Shown once: store them now (only a hash of the key and the encrypted secret are kept).")


@integrations_cli.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--category", "categories", multiple=True, help="a category it may send (repeat)")
@click.option("--unit", "units", multiple=True, help="an org unit code whose subtree it may send to (repeat)")
@click.option("--webhook-url", default=None)
@click.option("--event", "events", multiple=True, help="an event type (pattern) it hears (repeat)")
def create(code, name, categories, units, webhook_url, events):
    """Register a system; prints its API key and webhook secret once."""
    try:
        issued = systems.register({"code": code, "name": name, "categories": list(categories), "units": list(units),
                                   "webhook_url": webhook_url, "events": list(events)}, ACTOR)
    except ApiError as err:
        _fail(err)
    db.session.commit()
    _show_issued(issued)


@integrations_cli.command("list")
def list_systems():
    """Registered systems, their grants and live key prefixes."""
    for system in db.session.execute(select(IntegrationSystem).order_by(IntegrationSystem.code)).scalars():
        view = systems.view(system)
        state = "enabled" if system.enabled else "DISABLED"
        click.echo(f"{system.code}\t{system.name}\t{state}\tcategories={','.join(system.categories)}\t"
                   f"units={','.join(system.units)}\tkeys={','.join(k['prefix'] for k in view['keys'])}")


@integrations_cli.command("rotate")
@click.argument("code")
@click.option("--grace-hours", type=float, default=None, help="how long the old key and secret stay valid")
def rotate(code, grace_hours):
    """A new API key and webhook secret; the old ones stay valid for the grace period."""
    try:
        issued = systems.rotate(systems.get_system(code), ACTOR, grace_hours)
    except ApiError as err:
        _fail(err)
    db.session.commit()
    _show_issued(issued)


@integrations_cli.command("disable")
@click.argument("code")
def disable(code):
    """Refuse the system's keys from now on and send it nothing more."""
    try:
        systems.set_enabled(systems.get_system(code), False, ACTOR)
    except ApiError as err:
        _fail(err)
    db.session.commit()
    click.echo(f"{code} disabled")


@integrations_cli.command("enable")
@click.argument("code")
def enable(code):
    """Accept the system's keys again."""
    try:
        systems.set_enabled(systems.get_system(code), True, ACTOR)
    except ApiError as err:
        _fail(err)
    db.session.commit()
    click.echo(f"{code} enabled")
