"""Idempotency keys for submissions from phones: the same key twice applies the change once.

    earlier, claimed = idempotency.claim(user, key, scope=request.path)
    if earlier is not None:
        return redirect(earlier.result_url or fallback)     # a retry: show what the first one did
    ... apply the change ...
    claimed.result_url = url_of_the_result
    db.session.commit()                                      # the change and its key, together

app.web.submit.handle_form() does this for every page form.

Call claim() before the request changes anything. It adds the key to the caller's transaction: a
change that rolls back forgets the key, so the retry after a refused submission is tried again.
Two requests racing with one key: the second waits on the unique index, then finds the first's row.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.errors import ApiError
from app.extensions import db
from app.jobs import job, periodic
from app.models.base import utcnow
from app.models.idempotency import IdempotencyKey

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KEEP_DAYS = 7  # a retry comes within minutes; a week covers a phone left in a drawer


def valid_key(key: str | None) -> bool:
    return bool(key) and bool(KEY_PATTERN.match(key))


def earlier(user, key: str) -> IdempotencyKey | None:
    return db.session.execute(select(IdempotencyKey).where(
        IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)).scalar_one_or_none()


def claim(user, key: str | None, *, scope: str, result_url: str | None = None):
    """(None, row) for a new key, recorded in the current transaction; (earlier_row, None) for a retry.

    400 for a missing or malformed key: every submission page renders one.
    """
    if not valid_key(key):
        raise ApiError(400, "idempotency_key_required", "页面已过期，请刷新后重试",
                       "A valid idempotency_key is required")
    found = earlier(user, key)
    if found is not None:
        return found, None
    row = IdempotencyKey(user_id=user.id, key=key, scope=scope[:255], result_url=result_url)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same key raced in from a concurrent retry, which has committed
        db.session.rollback()  # claim() runs before the request changes anything: nothing else is lost
        return earlier(user, key), None
    return None, row


@periodic("idempotency.prune", 24 * 3600)
@job("default")
def prune_idempotency_keys() -> int:
    """Forget keys older than KEEP_DAYS."""
    cutoff = utcnow() - timedelta(days=KEEP_DAYS)
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    db.session.commit()
    return result.rowcount or 0
