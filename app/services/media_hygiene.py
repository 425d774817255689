"""No orphan files: photos written for a transaction that did not commit are removed with it, and a
periodic job removes stored photos no row refers to (after a grace age, for uploads in flight).

Only the content-addressed photo areas (`originals/`, `derived/`) are swept; exports keep their
own expiry (app/services/exports). Because keys are content hashes, a file is removed only when no
attachment row names it: the same bytes uploaded again by someone else are kept.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs import job, periodic
from app.models.attachment import Attachment
from app.services import media

log = logging.getLogger(__name__)

SWEPT_AREAS = ("originals", "derived")
_NEW_FILES = "media_new_files"


def written_for_this_transaction(key: str) -> None:
    """Remember that key was created for the open transaction: if it does not commit, remove the file."""
    session = db.session()
    root = session.get_transaction()
    held = session.info.get(_NEW_FILES)
    if held is None or held[0] is not root:
        held = session.info[_NEW_FILES] = (root, [])
    held[1].append(key)


@event.listens_for(Session, "after_commit")
def _kept(session):
    if not session.in_nested_transaction():
        session.info.pop(_NEW_FILES, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_if_not_committed(session, transaction):
    held = session.info.get(_NEW_FILES)
    if transaction.parent is not None or held is None or held[0] is not transaction:
        return
    session.info.pop(_NEW_FILES, None)
    for key in held[1]:
        try:
            remove_unless_referenced([key])
        except Exception:  # noqa: BLE001 - the periodic sweep removes it later
            log.warning("could not remove the uncommitted upload %s", key, exc_info=True)


def _referenced(keys: list[str]) -> set[str]:
    cols = (Attachment.original_key, Attachment.display_key, Attachment.thumb_key)
    with db.engine.connect() as conn:
        rows = conn.execute(select(*cols).where(or_(*(c.in_(keys) for c in cols)))).all()
    return {k for row in rows for k in row if k}


def remove_unless_referenced(keys: list[str]) -> list[str]:
    """Delete the files of keys no attachment row names; return the keys removed."""
    referenced = _referenced(keys)
    removed = []
    for key in keys:
        if key in referenced:
            continue
        path = media.path(key)
        if path.exists():
            path.unlink()
            removed.append(key)
    return removed


@periodic("media.remove_orphans", 6 * 3600, queue="media")
@job("media", timeout=3600)
def remove_orphan_media(grace_seconds: int | None = None, batch: int = 500) -> int:
    """Remove photo files older than the grace age that no row refers to; return how many went."""
    from flask import current_app

    grace = current_app.config["MEDIA_ORPHAN_GRACE_SECONDS"] if grace_seconds is None else grace_seconds
    cutoff, base, removed, chunk = time.time() - grace, media.root(), 0, []
    for area in SWEPT_AREAS:
        if not (base / area).is_dir():
            continue
        for path in (base / area).rglob("*"):
            if not path.is_file() or path.stat().st_mtime > cutoff:
                continue
            if path.name.startswith(".tmp-"):  # a write that died half-way
                path.unlink(missing_ok=True)
                removed += 1
                continue
            chunk.append(str(path.relative_to(base)))
            if len(chunk) >= batch:
                removed += len(remove_unless_referenced(chunk))
                chunk = []
    if chunk:
        removed += len(remove_unless_referenced(chunk))
    if removed:
        log.info("removed %d orphan media files", removed)
    return removed
