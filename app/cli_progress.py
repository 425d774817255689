"""Following a queued job from the command line: a progress bar fed by job.meta["progress"]."""

from __future__ import annotations

import time
from collections.abc import Callable

import click

ENDED = ("finished", "failed", "stopped", "canceled")


def follow_job(queued, label: str, advance: Callable, poll_seconds: float = 0.5, hint_after: float = 10.0):
    """Draw the job's progress until it ends; return its result, or fail naming the job and its status."""
    started, hinted = time.monotonic(), False
    with click.progressbar(length=1, label=label, show_pos=True) as bar:
        while True:
            queued.refresh()
            if queued.meta.get("progress"):
                advance(bar, queued.meta["progress"])
            status = queued.get_status(refresh=False)
            if status in ENDED:
                break
            if status == "queued" and not hinted and time.monotonic() - started > hint_after:
                click.echo("\nwaiting for a worker: is `flask toolbox worker` running?", err=True)
                hinted = True
            time.sleep(poll_seconds)
    if status != "finished":
        raise click.ClickException(f"{label} job {queued.id} {status}")
    return queued.return_value()
