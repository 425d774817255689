"""Approvals of forwards across units and of extensions: asked for with a WeCom template card
(button_interaction), decided once by a manager's tap or through the API, the card then updated."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.jobs import job
from app.models.base import utcnow
from app.models.org import OrgUnit
from app.models.users import User
from app.models.workitem import WorkItem, WorkItemApproval
from app.services import audit
from app.services.notify import page_url
from app.services.workdays import TZ, add_working_days
from app.services.workflow.changes import conflict, move, write_conflicts
from app.services.workflow.indexing import index_item
from app.services.workflow.limits import enter_stage
from app.services.workflow.notices import announce_change, item_path, message, unit_managers, unit_staff
from app.services.workflow.permissions import approver_can_decide
from app.services.workflow.states import APPROVAL_KINDS, APPROVAL_STATUS, TRANSITIONS
from app.services.workflow.timeline import add_event
from app.wecom.client import WeComError, get_client

log = logging.getLogger(__name__)

CARD_RESPONSE_CODE_TTL = timedelta(hours=72)
INVALID_RESPONSE_CODE = 40058  # WeCom: the response code is invalid, used or expired


def request_approval(item, user, kind, sending: OrgUnit, now, notify, *, target=None, days=None, reason=""):
    """Ask the managers above the sending unit; the card goes out after commit."""
    if any(a.status == "pending" for a in item.approvals):
        raise conflict(item, user, "approval_pending", "该工单已有待审批的申请", "An approval is already pending")
    approver_unit, approvers = unit_managers(sending)
    approval = WorkItemApproval(
        kind=kind, status="pending", requested_by_id=user.id, from_unit_id=sending.id,
        approver_unit_id=approver_unit.id, approver_unit=approver_unit, target_unit_id=getattr(target, "id", None),
        target_unit=target, days=days, reason=reason, task_id=f"wi-{item.id}-{secrets.token_hex(8)}",
        card_userids=approvers)
    item.approvals.append(approval)
    add_event(item, f"{kind}_requested", user, from_state=item.state, to_state=item.state, from_unit=sending,
              to_unit=target, reason=reason or None, at=now, days=days, approver_unit=approver_unit.code)
    db.session.flush()
    approval_id = approval.id
    send_approval_card.delay(approval_id)  # the outbox sends it once this transaction commits
    return approval


def pending_extension_days(item: WorkItem) -> int:
    return sum(a.days or 0 for a in item.approvals if a.kind == "extend" and a.status == "pending")


def decide(approval_id: int, user: User, approve: bool, *, via: str, note: str | None = None,
           response_code: str | None = None):
    """Apply a manager's decision once. Returns (approval, applied: bool); a repeat changes nothing."""
    stmt = (select(WorkItemApproval).where(WorkItemApproval.id == approval_id)
            .with_for_update(of=WorkItemApproval).execution_options(populate_existing=True))
    approval = db.session.execute(stmt).scalar_one_or_none()
    if approval is None:
        raise ApiError(404, "approval_not_found", "审批不存在", "No such approval")
    if approval.status != "pending":
        return approval, False
    if not approver_can_decide(user, approval):
        raise ApiError(403, "not_approver", "您不是该申请的审批人", "You are not an approver of this request")
    item = db.session.get(WorkItem, approval.work_item_id, populate_existing=True)
    now = utcnow()
    with write_conflicts(item.id, user):
        requester = approval.requested_by
        kind_label = APPROVAL_KINDS[approval.kind]
        notify: list[tuple[list[str], str]] = []
        approval.decided_by_id, approval.decided_at, approval.decided_via = user.id, now, via
        if response_code:  # a tap brings a fresh code, good for one update within 72 hours
            approval.response_code, approval.response_code_at = response_code, now
        approval.decision_note = note
        action = f"{approval.kind}_rejected"
        if not approve:
            approval.status = "rejected"
            add_event(item, action, user, from_state=item.state, to_state=item.state, reason=note, at=now,
                      approval_id=approval.id, via=via)
        elif approval.kind == "forward" and not _forward_still_applies(item, approval):
            approval.status, action = "void", "approval_void"
            add_event(item, action, user, from_state=item.state, to_state=item.state, at=now,
                      approval_id=approval.id, reason="工单状态已变化")
        elif approval.kind == "forward":
            approval.status, action = "approved", "forward"
            before_state, from_unit, target = item.state, item.org_unit, approval.target_unit
            move(item, target)
            item.state = "dispatched"
            add_event(item, "forward", user, from_state=before_state, to_state="dispatched", from_unit=from_unit,
                      to_unit=target, reason=approval.reason or None, at=now, approval_id=approval.id, via=via)
            enter_stage(item, now)
            notify.append((unit_staff(target), message(item, f"工单已转派至{target.name}，请及时签收")))
        else:
            approval.status, action = "approved", "extend"
            item.extension_days += approval.days
            item.close_due_at = add_working_days(item.close_due_at, approval.days)
            if item.stage == "handle":  # a new deadline: a new clock, with its own reminders
                item.due_at, item.overdue, item.stage_started_at = item.close_due_at, False, now
                item.stage_seq += 1
            add_event(item, "extend", user, from_state=item.state, to_state=item.state, reason=approval.reason,
                      at=now, approval_id=approval.id, days=approval.days, via=via)
        verdict = APPROVAL_STATUS[approval.status]
        if requester is not None:
            notify.append(([requester.wecom_userid], message(item, f"您的{kind_label}申请{verdict}（{user.name}）")))
        item.last_action_at = now
        index_item(item)
        audit.record(f"work_item.approval.{'approve' if approve else 'reject'}", target_type="work_item_approval",
                     target_id=approval.id, actor=user, detail={"number": item.number, "kind": approval.kind,
                                                                "status": approval.status, "via": via})
        announce_change(item, action, notify=notify)
        update_approval_card.delay(approval_id)
        db.session.commit()
    return approval, True


def _forward_still_applies(item: WorkItem, approval: WorkItemApproval) -> bool:
    """The item has not moved on since the forward was asked for."""
    movable = set(TRANSITIONS["forward"].sources) | set(TRANSITIONS["reassign"].sources)
    return item.state in movable and approval.from_unit_id in (item.org_unit_id, item.dispatch_unit_id)


# --- the card ------------------------------------------------------------------------------------

def approval_card(approval: WorkItemApproval) -> dict:
    """The WeCom template card (button_interaction) asking a manager to decide; a tap on the card (or its
    工单详情 line) opens the item in the workbench, where the same decision can be made."""
    item = approval.work_item
    link = page_url(item_path(item))
    kind = APPROVAL_KINDS[approval.kind]
    what = (f"转派至 {approval.target_unit.name}" if approval.kind == "forward"
            else f"延期 {approval.days} 个工作日")
    requester = approval.requested_by.name if approval.requested_by else "系统"
    return {
        "card_type": "button_interaction",
        "source": {"desc": "静安工具箱 · 工单流转"},
        "main_title": {"title": f"{kind}审批：{item.number}", "desc": item.title[:30]},
        "sub_title_text": f"{approval.from_unit.name} 申请{what}。理由：{approval.reason or '无'}"[:160],
        "horizontal_content_list": [
            {"keyname": "工单编号", "value": item.number},
            {"keyname": "类别", "value": item.category_name},
            {"keyname": "申请人", "value": requester},
            {"keyname": "办结时限", "value": item.close_due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")},
            {"keyname": "工单详情", "value": "在工作台查看", "type": 1, "url": link},
        ],
        "card_action": {"type": 1, "url": link},
        "task_id": approval.task_id,
        "button_list": [{"text": "同意", "style": 1, "key": "approve"},
                        {"text": "驳回", "style": 2, "key": "reject"}],
    }


def _decision_text(approval: WorkItemApproval) -> str:
    who = approval.decided_by.name if approval.decided_by else "系统"
    at = approval.decided_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if approval.decided_at else ""
    return f"{APPROVAL_STATUS[approval.status]}（{who} {at}）"


@job("notify")
def send_approval_card(approval_id: int) -> str | None:
    """Send the approval card to the approvers; retried with backoff on WeCom errors."""
    approval = db.session.get(WorkItemApproval, approval_id)
    if approval is None or approval.status != "pending" or approval.response_code:
        return None
    userids = approval.card_userids or unit_managers(approval.approver_unit)[1]
    if not userids:
        log.error("approval %s has no manager to ask", approval_id)
        return None
    response = get_client().send_template_card(userids, approval_card(approval))
    approval.response_code = response.get("response_code")
    approval.card_sent_at = approval.response_code_at = utcnow()
    approval.card_userids = userids
    db.session.commit()
    return approval.response_code


@job("notify")
def update_approval_card(approval_id: int) -> str | None:
    """Show the decision on the card, or, past the response code's 72 hours, send a fresh message."""
    approval = db.session.execute(select(WorkItemApproval).where(WorkItemApproval.id == approval_id)
                                  .with_for_update(of=WorkItemApproval)).scalar_one_or_none()  # one updater
    if approval is None or approval.status == "pending" or approval.card_updated_at is not None:
        return None
    text = _decision_text(approval)
    userids = approval.card_userids or unit_managers(approval.approver_unit)[1]
    issued = approval.response_code_at or approval.card_sent_at
    fresh = approval.response_code and issued is not None and utcnow() - issued < CARD_RESPONSE_CODE_TTL
    if fresh:
        card = {**approval_card(approval), "replace_text": text}
        card["sub_title_text"] = f"{card['sub_title_text']}\n{text}"[:160]
        try:
            get_client().update_template_card(userids, approval.response_code, card)
            approval.card_update_mode = "updated"
        except WeComError as err:
            if err.errcode != INVALID_RESPONSE_CODE:
                raise  # transient: the job is retried with backoff
            log.warning("approval %s: response code refused (%s), sending a message instead", approval_id, err)
            fresh = False
    if not fresh:
        note = message(approval.work_item, f"{APPROVAL_KINDS[approval.kind]}申请{text}")
        get_client().send_textcard(userids, note.title, note.description, page_url(note.path))
        approval.card_update_mode = "message"
    approval.card_updated_at = utcnow()
    db.session.commit()
    return approval.card_update_mode
