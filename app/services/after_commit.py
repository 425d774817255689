"""Run work only once the current transaction has committed (and never if it rolls back).

Signals that announce a change must not go out for rows that a rollback then erases. Jobs do not
need this: `.delay` writes them to the job outbox in the transaction (app/jobs.py), the one way
to queue a job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)

_PENDING, _COMMITTED = "after_commit_pending", "after_commit_committed"


def after_commit(fn: Callable[[], None]) -> None:
    """Run fn after the current db.session transaction commits (dropped if it rolls back)."""
    db.session.info.setdefault(_PENDING, []).append(fn)


@event.listens_for(Session, "after_commit")
def _mark_committed(session):
    if session.info.get(_PENDING):
        session.info[_COMMITTED] = True


@event.listens_for(Session, "after_rollback")
def _drop_pending(session):
    session.info.pop(_PENDING, None)
    session.info.pop(_COMMITTED, None)


@event.listens_for(Session, "after_transaction_end")
def _run_pending(session, transaction):
    # In after_commit itself no SQL may run; here the transaction is over and hooks may use the session.
    if transaction.parent is not None or not session.info.pop(_COMMITTED, False):
        return
    for fn in session.info.pop(_PENDING, []):
        try:
            fn()
        except Exception:  # noqa: BLE001 - one failing hook must not hide the commit from the others
            log.exception("after-commit hook failed")
