"""`flask toolbox rotate-keys` as a job: re-encrypt every personal field with the newest key.

    FIELD_ENCRYPTION_KEYS=new,old   →   rotate_keys_job.delay()   →   FIELD_ENCRYPTION_KEYS=new

Progress is kept in job.meta["progress"] ({column, done, total}); each batch commits, so a run that
stops half-way is simply run again. Values no key can decrypt are counted and left untouched.
"""

from __future__ import annotations

from rq import get_current_job

from app.extensions import db
from app.jobs import job
from app.services import audit
from app.services.crypto import rotate_all


def rotate(progress=None, actor="cli") -> dict:
    report = rotate_all(db.session, db.metadata, progress=progress)
    audit.record("crypto.rotate_keys", actor=actor, outcome="ok" if not report["unreadable"] else "partial",
                 detail={k: report[k] for k in ("rotated", "current", "unreadable")})
    db.session.commit()
    return report


@job("default", timeout=6 * 3600)
def rotate_keys_job() -> dict:
    """rotate() as an RQ job; progress in job.meta["progress"]."""
    current = get_current_job()

    def progress(state: dict) -> None:
        if current is not None:
            current.meta["progress"] = state
            current.save_meta()

    return rotate(progress, actor="rotate-keys-job")
