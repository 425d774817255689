"""/api/v1/work-item-approvals: forward and extension requests a manager decides outside WeCom chat."""

from __future__ import annotations

from flask import jsonify

from app.api import paginate, parse_args, parse_json
from app.auth import current_user
from app.errors import ApiError
from app.models.workitem import WorkItemApproval
from app.services import workflow as wf
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.work_item_schemas import ApprovalOut, ApprovalPage, ApprovalQuery, DecisionIn, dump_approval

_approval_out = ApprovalOut()


@bp.get("/work-item-approvals")
@doc("Forward and extension requests I can decide (managers)", tags=("work-items",), query=ApprovalQuery,
     response=ApprovalPage)
def list_approvals():
    """Approvals addressed to units I manage."""
    args = parse_args(ApprovalQuery())
    stmt = wf.approvals_for(current_user())
    if args["status"] != "all":
        stmt = stmt.where(WorkItemApproval.status == args["status"])
    stmt = stmt.order_by(WorkItemApproval.id.desc())
    return jsonify(paginate(stmt, args["page"], args["per_page"], lambda a: _approval_out.dump(dump_approval(a))))


def _decide(approval_id: int, approve: bool):
    data = parse_json(DecisionIn())
    approval, applied = wf.decide(approval_id, current_user(), approve, via="api", note=data.get("note"))
    if not applied:
        raise ApiError(409, "already_decided", "该申请已处理", "This request was already decided",
                       approval=dump_approval(approval))
    return jsonify(_approval_out.dump(dump_approval(approval)))


@bp.post("/work-item-approvals/<int:approval_id>/approve")
@doc("Approve a forward or extension (staff not in chat)", tags=("work-items",), body=DecisionIn,
     response=ApprovalOut, errors=(404, 409))
def approve_request(approval_id: int):
    """同意."""
    return _decide(approval_id, True)


@bp.post("/work-item-approvals/<int:approval_id>/reject")
@doc("Reject a forward or extension (staff not in chat)", tags=("work-items",), body=DecisionIn,
     response=ApprovalOut, errors=(404, 409))
def reject_request(approval_id: int):
    """驳回."""
    return _decide(approval_id, False)
