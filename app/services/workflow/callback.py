"""WeCom's callback for approval cards: a manager tapped 同意/驳回 (run inside a job)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.models.users import User
from app.models.workitem import WorkItemApproval
from app.services import audit
from app.services.workflow.approvals import decide

log = logging.getLogger(__name__)

CARD_TASK_PREFIX = "wi-"


def on_template_card_event(event: dict) -> None:
    """Decide the approval the tapped card belongs to; a tap by someone who may not decide is audited."""
    task_id = str(event.get("TaskId") or "")
    if not task_id.startswith(CARD_TASK_PREFIX):
        return
    approval = db.session.execute(select(WorkItemApproval).where(WorkItemApproval.task_id == task_id)
                                  ).scalar_one_or_none()
    if approval is None:
        log.warning("card event for unknown task %s", task_id)
        return
    userid = event.get("FromUserName")
    user = db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one_or_none()
    key = str(event.get("EventKey") or "")
    if user is None or key not in ("approve", "reject"):
        log.warning("card event from %r with key %r ignored", userid, key)
        return
    try:
        decide(approval.id, user, key == "approve", via="card", response_code=event.get("ResponseCode") or None)
    except ApiError as err:
        if err.status != 403:
            raise
        db.session.rollback()
        audit.record("work_item.approval.denied", target_type="work_item_approval", target_id=approval.id,
                     actor=user, outcome="denied", detail={"task_id": task_id})
        db.session.commit()
