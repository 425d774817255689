"""`flask toolbox places …`: list places, create one, print a unit's QR posters (静安码)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db

places_cli = AppGroup("places", help="静安码: places, QR codes and posters.")


def _unit(code: str):
    from app.models.org import OrgUnit

    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise click.ClickException(f"no org unit with code {code!r}")
    return unit


@places_cli.command("list")
@click.option("--unit", "unit_code", default="JA", show_default=True, help="org unit code (its subtree)")
def list_places(unit_code: str):
    """Places of a unit's subtree with their codes and report URLs."""
    from app.services.places import report_url
    from app.services.posters import street_places

    for place in street_places(_unit(unit_code)):
        click.echo(f"{place.code}  {place.org_unit.code:12} {place.kind:18} {place.name}  {report_url(place)}")


@places_cli.command("create")
@click.argument("name")
@click.option("--unit", "unit_code", required=True, help="org unit code, e.g. JA01G01")
@click.option("--kind", default="other", show_default=True)
@click.option("--address", default=None)
@click.option("--lat", type=float, default=None)
@click.option("--lng", type=float, default=None)
def create(name: str, unit_code: str, kind: str, address, lat, lng):
    """Create a place and print its new code."""
    from app.errors import ApiError
    from app.services import audit
    from app.services.places import create_place, report_url

    try:
        place = create_place(name=name, kind=kind, org_unit=_unit(unit_code), address=address, lat=lat, lng=lng)
    except ApiError as err:
        raise click.ClickException(err.message_en) from err
    audit.record("place.create", target_type="place", target_id=place.code, actor="cli",
                 detail={"name": place.name, "org_unit": unit_code})
    db.session.commit()
    click.echo(f"{place.code} {report_url(place)}")


@places_cli.command("posters")
@click.option("--unit", "unit_code", required=True, help="street (or any unit) code, e.g. JA01")
@click.option("--format", "fmt", type=click.Choice(["pdf", "png"]), default="pdf", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="ZIP to write")
def posters(unit_code: str, fmt: str, out: Path):
    """Build every active place's A4 poster for a unit into one ZIP, now (the API does it as a job)."""
    from app.models.place import PlacePosterBatch
    from app.services import media
    from app.services.posters import build_poster_batch

    unit = _unit(unit_code)
    batch = PlacePosterBatch(org_unit=unit, org_unit_id=unit.id, format=fmt, status="queued")
    db.session.add(batch)
    db.session.commit()
    status = build_poster_batch(batch.id)
    db.session.refresh(batch)
    if status != "finished":
        raise click.ClickException(f"poster batch {status}: {batch.error}")
    out.write_bytes(media.read(batch.file_key))
    click.echo(f"{batch.done} poster(s) written to {out}")
