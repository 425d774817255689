"""/api/v1/work-items: my inbox, item detail with timeline, and actions (one-click forwarding)."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.api import paginate, parse_args, parse_json
from app.auth import current_user
from app.errors import ApiError
from app.extensions import db
from app.models.base import utcnow
from app.models.users import User
from app.models.workitem import WorkItem
from app.services import audit
from app.services import workflow as wf
from app.services.assessment.query import drill_down_statement
from app.services.like import contains, starts_with
from app.services.scope import in_scope
from app.views import filter_unit
from miniprogram_api import bp
from miniprogram_api.openapi import camel, doc
from miniprogram_api.work_item_schemas import (
    ACTION_BODIES,
    ActionOut,
    Counts,
    WorkItemDetail,
    WorkItemOut,
    WorkItemPage,
    WorkItemQuery,
    dump_approval,
    dump_detail,
    dump_item,
)

_item_out, _detail_out = WorkItemOut(), WorkItemDetail()
_work_item_query = WorkItemQuery()  # built once per process (a schema copies its fields when built)


# --- views -----------------------------------------------------------------------------------

@bp.get("/work-items")
@doc("My work items: to do, done, overdue (with counts for badges), filtered and paged", tags=("work-items",),
     query=WorkItemQuery, response=WorkItemPage)
def list_work_items():
    """My inbox; everything is limited to my data scope. With ?indicator=: the items behind a figure."""
    if "indicator" in request.args:
        return _drill_down()
    args = parse_args(_work_item_query)
    user, now = current_user(), utcnow()
    # Assignees for the whole page in one statement (their memberships are not needed to show a name).
    stmt = select(WorkItem).options(selectinload(WorkItem.assignee).lazyload(User.memberships)) \
        .where(wf.visible_to(user))
    box = wf.box_clause(args["box"], user, now)
    if box is not None:
        stmt = stmt.where(box)
    for key, column in (("state", WorkItem.state), ("tool", WorkItem.source_tool), ("category", WorkItem.category),
                        ("priority", WorkItem.priority)):
        if key in args:
            stmt = stmt.where(column == args[key])
    if "unit" in args:
        unit = filter_unit(args["unit"])
        stmt = stmt.where(starts_with(WorkItem.org_path, unit.path))
    if "q" in args:
        stmt = stmt.where(or_(contains(WorkItem.number, args["q"]),
                              contains(WorkItem.title, args["q"])))
    order = (WorkItem.due_at.asc().nulls_last(), WorkItem.id.desc()) if args["box"] in ("todo", "overdue") \
        else (WorkItem.last_action_at.desc(), WorkItem.id.desc())
    page = paginate(stmt.order_by(*order), args["page"], args["per_page"], lambda i: _item_out.dump(dump_item(i)))
    page["counts"] = wf.counts_for(user)
    return jsonify(page)


def _drill_down():
    """Exactly the items counted in one indicator figure, under the indicators' scope and period rules."""
    args = parse_args(_work_item_query)
    stmt = drill_down_statement(current_user(), request.args)
    return jsonify(paginate(stmt, args["page"], args["per_page"], lambda i: _item_out.dump(dump_item(i))))


@bp.get("/work-items/counts")
@doc("Badge counts: to do, done, overdue, approvals waiting for me", tags=("work-items",), response=Counts)
def work_item_counts():
    """How many items wait in each box."""
    return jsonify(wf.counts_for(current_user()))


@bp.get("/work-items/<int:item_id>")
@doc("One work item with its timeline, approvals and the actions I may take", tags=("work-items",),
     response=WorkItemDetail, errors=(404,))
def get_work_item(item_id: int):
    """Detail; ?reveal=reporter shows the reporter's name and phone in full (audited)."""
    user = current_user()
    item = wf.ensure_can_view(user, db.session.get(WorkItem, item_id))
    reveal = request.args.get("reveal") == "reporter"
    if reveal:
        if not in_scope(user, item.org_path) and not in_scope(user, item.dispatch_path):
            raise ApiError(403, "out_of_scope", "仅经办单位可查看报告人联系方式",
                           "Only the handling or dispatching unit may see the reporter's contact")
        audit.record("work_item.reporter_view", target_type="work_item", target_id=item.id,
                     detail={"number": item.number})
        db.session.commit()
    return jsonify(_detail_out.dump(dump_detail(item, user, reveal)))


def _act(action: str, body: type):
    def act_on_work_item(item_id: int):
        """409 (with allowed_actions) when the state forbids it or someone else acted first; 403 without the right."""
        data = parse_json(body())
        item, result = wf.perform(item_id, action, current_user(), data)
        approval = result.get("approval")
        out = {"item": dump_detail(item, current_user()), "approval": dump_approval(approval) if approval else None}
        return jsonify(ActionOut().dump(out)), 202 if approval is not None else 200
    return act_on_work_item


# One URL, one typed body per action (the document names each: acceptWorkItem's body is SignIn, …).
for _action, _body in ACTION_BODIES.items():
    _transition = wf.TRANSITIONS[_action]
    _view = doc(f"{_transition.label}: {_action} (202 when it asks for an approval)", tags=("work-items",),
                body=_body, response=ActionOut, statuses=(202,), errors=(404, 409),
                operation_id=camel(f"{_action}_work_item"))(_act(_action, _body))
    bp.add_url_rule(f"/work-items/<int:item_id>/{_action}", endpoint=f"{_action}_work_item", view_func=_view,
                    methods=["POST"])
