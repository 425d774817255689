"""`flask toolbox …` commands: seed, tools, audit-verify, worker, scheduler."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup
from redis.exceptions import RedisError
from sqlalchemy import select

from app import security_cli
from app.cli_progress import follow_job
from app.definitions_cli import definitions_cli
from app.errors import ApiError
from app.extensions import db
from app.integrations_cli import integrations_cli
from app.jobs import QUEUES, make_worker, schedule_due_jobs, sweep_outbox
from app.models.org import OrgUnit
from app.places_cli import places_cli
from app.registry import current_registry
from app.run_dev import LOOPBACK
from app.services import workdays
from app.services.audit import verify_chain
from app.services.definitions_io import load_seed_definitions
from app.services.demo import seed_demo
from app.services.directory import import_roster
from app.services.district import seed
from app.services.redis_conn import get_redis
from app.services.search import rebuild, reindex_job, sources
from app.services.toolbox import set_enabled, settings_for
from app.stats_cli import stats_cli
from app.wecom.client import WeComError
from app.wecom.directory import sync_directory_job, sync_directory_or_audit_failure
from app.wecom.simulator import SimulatorServer, simulator_from_config
from app.workflow_cli import calendar_cli, work_items_cli

toolbox_cli = AppGroup("toolbox", help="静安工具箱管理命令 (Jing'an Toolbox administration).")


@toolbox_cli.command("seed")
@click.option("--no-demo-users", is_flag=True, help="Only the org tree, no demo staff.")
@click.option("--demo", is_flag=True, help="Also demo records in every tool and work items in every state.")
def seed_command(no_demo_users: bool, demo: bool):
    """Load Jing'an's 1+14+85+266 org tree and demo users (idempotent); --demo: a district with life in it."""
    if demo and no_demo_users:
        raise click.UsageError("--demo needs the demo users")
    result = seed(with_demo_users=not no_demo_users)
    click.echo(f"seeded: {result}")
    shipped = load_seed_definitions()  # the scenes shipped as tool definitions (issue 15)
    db.session.commit()
    click.echo("definitions: " + ", ".join(f"{d['code']} ({d['draft']}"
                                           + (f", published v{d['published']})" if d["published"] else ")")
                                           for d in shipped))
    if demo:
        workdays.load_official()  # the demo's deadlines follow the holiday calendar
        db.session.commit()
        with _simulator_if_needed():
            click.echo(f"demo: {seed_demo()}")


@contextlib.contextmanager
def _simulator_if_needed():
    """Demo messages go to the local WeCom simulator (started here when nothing listens there)."""
    base = urlsplit(current_app.config["WECOM_API_BASE"])
    server = None
    if base.hostname in LOOPBACK:
        with socket.socket() as probe:
            listening = probe.connect_ex((base.hostname, base.port or 80)) == 0
        if not listening:
            server = SimulatorServer(simulator_from_config(current_app.config), base.hostname,
                                     base.port or 80).start()
    try:
        yield
    finally:
        if server is not None:
            server.stop()


@toolbox_cli.group("tools")
def tools_group():
    """List, enable and disable tools."""


@tools_group.command("list")
def tools_list():
    """Registered tools and their per-unit settings."""
    for tool in current_registry():
        m = tool.manifest
        click.echo(f"{m.code:24} {m.version:8} {m.name}  [{tool.source}]")
        for s in settings_for(m.code):
            state = "enabled" if s["enabled"] else "disabled"
            click.echo(f"    {state:8} at {s['org_unit']['code']} {s['org_unit']['name']}")


def _set_tool(code: str, unit_code: str, enabled: bool):
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        raise click.ClickException(f"no org unit with code {unit_code!r}")
    try:
        set_enabled(code, unit, enabled, "cli")
    except ApiError as err:
        raise click.ClickException(err.message_en) from err
    db.session.commit()
    click.echo(f"{code} {'enabled' if enabled else 'disabled'} for {unit.code} {unit.name}")


@tools_group.command("enable")
@click.argument("code")
@click.option("--unit", "unit_code", default="JA", show_default=True, help="org unit code")
def tools_enable(code: str, unit_code: str):
    """Enable a tool for a unit's subtree."""
    _set_tool(code, unit_code, True)


@tools_group.command("disable")
@click.argument("code")
@click.option("--unit", "unit_code", default="JA", show_default=True, help="org unit code")
def tools_disable(code: str, unit_code: str):
    """Disable a tool for a unit's subtree."""
    _set_tool(code, unit_code, False)


@toolbox_cli.command("audit-verify")
def audit_verify():
    """Check the audit hash chain; exit 1 naming each modified or deleted row."""
    checked, problems = verify_chain()
    if problems:
        for problem in problems:
            click.echo(f"TAMPERED {problem}", err=True)
        click.echo(f"audit chain BROKEN: {len(problems)} problem(s) in {checked} rows", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {checked} rows verified")


@toolbox_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(queues: tuple[str, ...], burst: bool):
    """Run an RQ worker for the given queues (default: all)."""
    make_worker(queues or QUEUES).work(burst=burst, with_scheduler=True)


@toolbox_cli.command("scheduler")
@click.option("--once", is_flag=True, help="Queue what is due once and exit.")
@click.option("--tick", default=30, show_default=True, help="Seconds between checks.")
def scheduler_command(once: bool, tick: int):
    """Queue periodic jobs when due and sweep the job outbox; run any number of these.

    Each period is queued once; the sweep relays jobs Redis missed and re-queues jobs of dead
    workers. A Redis outage is logged and waited out, never the end of the scheduler.
    """
    while True:
        queued, swept = [], {}
        try:
            queued = schedule_due_jobs()
            swept = sweep_outbox()
        except RedisError as exc:
            current_app.logger.warning("scheduler: Redis unreachable, trying again in %ss: %s", tick, exc)
        if queued:
            current_app.logger.info("queued periodic jobs: %s", ", ".join(queued))
        if any(swept.values()):
            current_app.logger.info("outbox sweep: %s", swept)
        if once:
            click.echo(f"queued: {', '.join(queued) or 'nothing due'}")
            return
        time.sleep(tick)


@toolbox_cli.command("sync-directory")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--queue", "queue_it", is_flag=True, help="Queue the RQ job instead of running here.")
@click.option("--disable-imported", is_flag=True,
              help="Also disable people who came from a spreadsheet import and are not in WeCom.")
def sync_directory_command(dry_run: bool, queue_it: bool, disable_imported: bool):
    """Pull WeCom departments and members onto org units and users (idempotent, audited)."""
    if queue_it:
        handle = sync_directory_job.delay(dry_run, disable_imported)
        click.echo(f"queued directory sync job {handle.id}")
        return
    try:
        report = sync_directory_or_audit_failure(dry_run=dry_run, actor="cli", disable_imported=disable_imported)
    except WeComError as err:
        raise click.ClickException(f"WeCom sync failed: errcode={err.errcode} errmsg={err.errmsg}") from err
    click.echo(str(report))
    for change in report.plan.changes:
        click.echo(f"{change.action:8} {change.userid}  {change.changes}")
    for dept in report.unmapped:
        click.echo(f"unmapped department {dept['department_id']} {dept['name']}", err=True)
    for note in report.plan.notes:
        click.echo(f"note: {note}")


@toolbox_cli.command("import-directory")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change and any row errors; write nothing.")
@click.option("--disable-missing", is_flag=True,
              help="Also disable people missing from the file, within --scope (required with it).")
@click.option("--scope", "scope_code", help="The unit whose subtree the file covers (with --disable-missing).")
def import_directory_command(path: str, dry_run: bool, disable_missing: bool, scope_code: str | None):
    """Import staff from CSV/XLSX (userid, name, mobile, unit code, role): add and update; keep everyone else."""
    if disable_missing and not scope_code:
        raise click.UsageError("--disable-missing needs --scope CODE: the unit whose subtree the file covers")
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        plan = import_roster(os.path.basename(path), data, actor=None, dry_run=dry_run, scope_code=scope_code,
                             disable_missing=disable_missing)
    except ApiError as err:
        for row in err.details.get("row_errors", []):
            click.echo(f"row {row['row']}: {row['errors']}", err=True)
        raise click.ClickException(err.message_en) from err
    summary = plan.summary()
    click.echo(f"{summary['created']} new, {summary['updated']} changed, {summary['disabled']} disabled, "
               f"{summary['unchanged']} unchanged, {summary['errors']} row errors"
               + (" [dry run: nothing written]" if dry_run or plan.errors else ""))
    for change in plan.changes:
        click.echo(f"{change.action:8} {change.userid}  {change.changes}")
    for row in plan.errors:
        click.echo(f"row {row['row']}: {row['errors']}", err=True)
    for note in plan.notes:
        click.echo(f"note: {note}")
    if plan.errors:
        sys.exit(1)


@toolbox_cli.command("reindex")
@click.option("--tool", "tools", multiple=True, help="Only this source (a tool code, or work_items); repeatable.")
@click.option("--prune", is_flag=True, help="Also remove documents of tools that no source provides.")
@click.option("--inline", is_flag=True, help="Run in this process instead of as a job (the default without Redis).")
@click.option("--no-wait", is_flag=True, help="Queue the job and exit without following it.")
def reindex_command(tools: tuple[str, ...], prune: bool, inline: bool, no_wait: bool):
    """Rebuild the one-click query index from every tool's records, as a job with a progress bar."""
    unknown = sorted(set(tools) - set(sources()))
    if unknown:
        raise click.ClickException(f"no search source named {', '.join(unknown)}; "
                                   f"known: {', '.join(sorted(sources())) or 'none'}")
    only = list(tools) or None
    if inline or get_redis() is None:
        with click.progressbar(length=1, label="reindex", show_pos=True) as bar:
            state = rebuild(only, prune=prune, progress=lambda p: _advance(bar, p))
        _reindex_summary(state)
        return
    queued = reindex_job.delay(only, prune)
    click.echo(f"queued reindex job {queued.id} on queue 'default'")
    if not no_wait:
        _follow_reindex(queued)


def _advance(bar, progress: dict) -> None:
    bar.length = max(progress["total"], progress["done"], 1)
    bar.label = f"reindex {progress['source'] or ''}".rstrip()
    bar.update(progress["done"] - bar.pos)


def _reindex_summary(state: dict) -> None:
    for name, count in state["indexed"].items():
        click.echo(f"{name}: {count} indexed")
    click.echo(f"reindex finished: {state['done']} documents written, {state['removed']} stale removed")


def _follow_reindex(queued) -> None:
    _reindex_summary(follow_job(queued, "reindex", _advance))


@toolbox_cli.command("relink-photos")
def relink_photos_command():
    """Rebuild which records hold which photos from every record's photo list (after a restore or a tool upgrade)."""
    from app.services.attachments import relink_all

    for kind, count in relink_all().items():
        click.echo(f"{kind}: {count} photo links")


for group in (calendar_cli, work_items_cli, places_cli, definitions_cli, stats_cli, integrations_cli):
    toolbox_cli.add_command(group)
security_cli.register(toolbox_cli)
