"""What every change to a work item shares: moving it between units, and refusing a conflicting write."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.orm.exc import StaleDataError

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import User
from app.models.workitem import WorkItem
from app.services.workflow.permissions import allowed_actions
from app.services.workflow.states import STATES


def move(item: WorkItem, target: OrgUnit) -> None:
    """Hand the item to another unit; nobody there has signed for it yet."""
    item.org_unit, item.org_unit_id, item.org_path, item.assignee_id = target, target.id, target.path, None
    item.assignee = None


def conflict(item: WorkItem, user: User, code: str, zh: str, en: str, status: int = 409, **extra) -> ApiError:
    """An error that tells the caller the item's state and what they may do instead."""
    return ApiError(status, code, zh, en, state=item.state, state_label=STATES[item.state],
                    allowed_actions=allowed_actions(item, user), **extra)


@contextmanager
def write_conflicts(item_id: int, user: User | None):
    """Another transaction changed the item first (version mismatch): roll back everything, 409."""
    try:
        yield
    except ApiError:
        db.session.rollback()
        raise
    except StaleDataError as exc:
        db.session.rollback()
        fresh = db.session.get(WorkItem, item_id, populate_existing=True)
        raise ApiError(409, "concurrent_update", "工单刚被他人处理，请刷新后重试",
                       "Someone else changed the work item at the same time", state=fresh.state,
                       state_label=STATES[fresh.state],
                       allowed_actions=allowed_actions(fresh, user) if user else []) from exc
