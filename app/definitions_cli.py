"""`flask toolbox definitions …`: tools defined without code as files, so they live in git.

    flask toolbox definitions list
    flask toolbox definitions export rental_housing -o rental_housing.yaml
    flask toolbox definitions import rental_housing.yaml --publish [--dry-run] [--resolutions res.json]
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.models.definitions import ToolDefinition
from app.services import definitions
from app.services.definitions_io import dump_definition, import_definition, read_definition_file

definitions_cli = AppGroup("definitions", help="工具定义（无代码工具）的导入导出 (tool definitions as files).")


@definitions_cli.command("list")
def list_command():
    """Every definition: code, version in force, name."""
    for row in db.session.execute(select(ToolDefinition).order_by(ToolDefinition.code)).scalars():
        version = f"v{row.published_version}" if row.published_version else "draft"
        click.echo(f"{row.code:24} {version:8} {row.draft.get('name')}")


@definitions_cli.command("export")
@click.argument("code")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default=None,
              help="Default: from the file's extension, else yaml.")
@click.option("--published", is_flag=True, help="The version in force rather than the draft.")
def export_command(code: str, output: str | None, fmt: str | None, published: bool):
    """Write a definition (its draft, or --published) as one YAML or JSON file."""
    try:
        row = definitions.get_definition(code)
    except ApiError as err:
        raise click.ClickException(err.message_en) from err
    body = definitions.definition_of(code) if published else row.draft
    fmt = fmt or ("json" if output and output.endswith(".json") else "yaml")
    text = dump_definition(body, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"exported {code} to {output}")
    else:
        click.echo(text, nl=False)


@definitions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--publish", is_flag=True, help="Publish it as a new version (refused if existing values would be lost).")
@click.option("--dry-run", is_flag=True, help="Only print the change report of publishing it.")
@click.option("--resolutions", type=click.Path(exists=True, dir_okay=False),
              help='JSON file: {"field": {"action": "keep|convert|clear", ...}}.')
def import_command(path: str, publish: bool, dry_run: bool, resolutions: str | None):
    """Create or replace a definition's draft from a YAML or JSON file (and publish it)."""
    resolved = json.loads(Path(resolutions).read_text(encoding="utf-8")) if resolutions else None
    try:
        body = read_definition_file(path)
        result = import_definition(body, "cli", publish=publish and not dry_run, resolutions=resolved)
        if dry_run:
            report = definitions.publish(body["code"], "cli", dry_run=True, resolutions=resolved)
            db.session.rollback()
            click.echo(json.dumps(report, ensure_ascii=False, indent=2))
            return
        db.session.commit()
    except ApiError as err:
        db.session.rollback()
        report = err.details.get("report")
        if report:
            click.echo(json.dumps(report, ensure_ascii=False, indent=2), err=True)
        raise click.ClickException(f"{err.code}: {err.message}") from err
    click.echo(f"{result['code']}: draft {result['draft']}"
               + (f", published v{result['published']}" if result["published"] else ""))
