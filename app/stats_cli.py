"""`flask toolbox stats …`: the assessment's fact tables."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.cli_progress import follow_job
from app.services.assessment.store import rebuild, rebuild_job
from app.services.redis_conn import get_redis

stats_cli = AppGroup("stats", help="考核统计 (assessment facts).")


def _advance(bar, progress: dict) -> None:
    bar.length = max(progress["total"], progress["done"], 1)
    bar.update(progress["done"] - bar.pos)


def _summary(result: dict) -> None:
    click.echo(f"stats rebuilt: {result['items']} work items, {result['daily_rows']} daily rows")


@stats_cli.command("rebuild")
@click.option("--inline", is_flag=True, help="Run in this process instead of as a job (the default without Redis).")
@click.option("--no-wait", is_flag=True, help="Queue the job and exit without following it.")
def rebuild_command(inline: bool, no_wait: bool):
    """Recompute every work item's facts and the daily table from them, with a progress bar."""
    if inline or get_redis() is None:
        with click.progressbar(length=1, label="stats", show_pos=True) as bar:
            result = rebuild(progress=lambda done, total: _advance(bar, {"done": done, "total": total}))
        _summary(result)
        return
    queued = rebuild_job.delay()
    click.echo(f"queued stats rebuild job {queued.id} on queue 'default'")
    if not no_wait:
        _summary(follow_job(queued, "stats", _advance))
