"""Work items in the workbench: the inbox by box, the item with its timeline and deadline, the form of
each action the user may take now, and the managers' approvals (the same decision a card tap makes)."""

from __future__ import annotations

from flask import abort, flash, g, render_template, request, url_for
from sqlalchemy import or_, select

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgLevel, OrgUnit
from app.models.workitem import WorkItem, WorkItemApproval
from app.services import workflow as wf
from app.services.crypto import mask_mobile, mask_name
from app.services.like import starts_with
from app.web.filters import deadline_text
from app.web.screens import Badge, Field, ListPage, Row, Tab, form
from app.web.session import page_error
from app.web.submit import handle_form
from app.web.toolscreens import page_rows
from h5.staff import bp

STATE_TONES = {"dispatched": "warn", "handling": "info", "rehandling": "warn", "reviewing": "info",
               "visiting": "info", "returned": "danger", "closed": "ok", "accepted": "warn"}
HOME_TONES = {"due_soon": "warm", "overdue": "hot"}


def badges(user) -> dict:
    """The home page's badges: my boxes with counts (待派单 only when there is some), approvals for managers."""
    counts = wf.workbench_counts(user)
    boxes = [{"key": k, "label": label, "count": counts[k], "tone": HOME_TONES.get(k, "")}
             for k, (label, _, _) in wf.WORKBENCH_BOXES.items() if k != "to_dispatch" or counts[k]]
    return {"boxes": boxes, "approvals": wf.pending_approval_count(user) if user.has_role("manager") else None}


def item_badges(item: WorkItem) -> list[Badge]:
    out = [Badge(wf.STATES[item.state], STATE_TONES.get(item.state, ""))]
    if item.priority == "urgent":
        out.append(Badge("紧急", "danger"))
    if item.overdue:
        out.append(Badge("超期", "danger"))
    if item.supervised:
        out.append(Badge("督办", "danger"))
    if any(a.status == "pending" for a in item.approvals):
        out.append(Badge("审批中", "info"))
    return out


def _row(item: WorkItem) -> Row:
    meta = [("承办", item.org_unit.name)]
    if item.due_at and item.state in wf.OPEN_STATES:
        meta.append(("时限", deadline_text(item.due_at)))
    return Row(item.title, url_for("staff.item", item_id=item.id), f"{item.number} · {item.category_name}",
               item_badges(item), meta)


@bp.get("/items", endpoint="inbox")
def inbox_page():
    """My inbox, one box at a time."""
    user = g.user
    box = request.args.get("box") if request.args.get("box") in (*wf.WORKBENCH_BOXES, "all") else "to_sign"
    page = max(1, request.args.get("page", 1, type=int) or 1)
    counts = wf.workbench_counts(user)
    stmt = select(WorkItem).where(wf.visible_to(user), wf.workbench_box_clause(box, user)).order_by(
        WorkItem.due_at.asc().nulls_last(), WorkItem.id.desc())
    rows, pages, total = page_rows(stmt, page)
    tabs = [Tab(k, label, url_for("staff.inbox", box=k), counts[k]) for k, (label, _, _) in wf.WORKBENCH_BOXES.items()
            if k != "to_dispatch" or counts[k] or box == k]
    tabs.append(Tab("all", "全部在办", url_for("staff.inbox", box="all")))
    listing = ListPage("工单", [_row(i) for i in rows], tabs=tabs, active_tab=box, page=page, pages=pages,
                       total=total, empty="这里没有工单")
    return render_template("web/list.html", list=listing, back_url=url_for("staff.home"))


# --- one item -------------------------------------------------------------------------------------

def _item(item_id: int) -> WorkItem:
    return wf.ensure_can_view(g.user, db.session.get(WorkItem, item_id))


def _pending(item: WorkItem) -> WorkItemApproval | None:
    return next((a for a in item.approvals if a.status == "pending"), None)


@bp.get("/items/<int:item_id>")
def item(item_id: int):
    """The item: what, where, deadline and time left, photos, timeline, and my actions now."""
    try:
        found = _item(item_id)
    except ApiError as err:
        return page_error(err.status, err.message)
    user = g.user
    approval = _pending(found)
    reporter = None
    if found.reporter_name or found.reporter_mobile:
        reporter = f"{mask_name(found.reporter_name) or '市民'} {mask_mobile(found.reporter_mobile) or ''}".strip()
    return render_template(
        "staff/item.html", item=found, badges=item_badges(found), actions=wf.allowed_actions(found, user),
        transitions=wf.TRANSITIONS, states=wf.STATES, labels=wf.EVENT_LABELS, approval=approval,
        may_decide=approval is not None and wf.approver_can_decide(user, approval), reporter=reporter,
        stage_label=wf.STAGE_LABELS.get(found.stage or "", ""), back_url=url_for("staff.inbox"),
        approval_kinds=wf.APPROVAL_KINDS, approval_status=wf.APPROVAL_STATUS)


def _unit_options(units) -> tuple[tuple[str, str], ...]:
    return tuple((u.code, u.name) for u in units)


def _dispatch_targets(item: WorkItem):
    """Units inside the dispatching unit's subtree, one level down (and its grids for a street)."""
    stmt = select(OrgUnit).where(starts_with(OrgUnit.path, item.dispatch_path),
                                 OrgUnit.level.in_((OrgLevel.STREET, OrgLevel.DEPARTMENT, OrgLevel.GRID)))
    if item.dispatch_unit.level == OrgLevel.DISTRICT:
        stmt = stmt.where(OrgUnit.level != OrgLevel.GRID)
    return db.session.execute(stmt.order_by(OrgUnit.path)).scalars().all()


def _forward_targets(item: WorkItem):
    """Streets and departments, and the grids of the item's own street."""
    street = item.org_unit.street
    clauses = [OrgUnit.level.in_((OrgLevel.STREET, OrgLevel.DEPARTMENT))]
    if street is not None:
        clauses.append(starts_with(OrgUnit.path, street.path) & (OrgUnit.level == OrgLevel.GRID))
    units = db.session.execute(select(OrgUnit).where(or_(*clauses)).order_by(OrgUnit.path)).scalars().all()
    return [u for u in units if u.id != item.org_unit_id]


def action_form(item: WorkItem, action: str):
    """The form of one action: the fields its transition requires, and the optional ones that help."""
    t = wf.TRANSITIONS[action]
    fields = [Field("version", "版本", "hidden")]
    if action == "dispatch":
        targets = _unit_options(_dispatch_targets(item))
        fields.append(Field("unit", "派至单位", "choice", required=True, options=targets))
    if action in ("forward", "reassign"):
        fields.append(Field("unit", "转至单位", "choice", required=True, options=_unit_options(_forward_targets(item)),
                            help="本单位以外的转派须经负责人审批"))
    if action == "sign":
        fields.append(Field("note", "先行联系情况", "textarea", max_length=1000,
                            help="签收时已联系报告人或现场的，请简要说明（计入先行联系）"))
    if action in ("contact", "supervise"):
        fields.append(Field("note", "联系情况" if action == "contact" else "督办意见", "textarea",
                            required=action == "contact", max_length=1000))
    if action == "feedback":
        fields.append(Field("result", "处置结果", "textarea", required=True, max_length=4000))
        fields.append(Field("photo_ids", "处置后照片", "photos", max_photos=9))
    if action == "visit":
        fields.append(Field("satisfaction", "回访满意度", "choice", required=True, widget="radio",
                            options=tuple(wf.SATISFACTION.items())))
    if action == "extend":
        fields.append(Field("days", "延期（工作日）", "int", required=True, min=1, max=15))
    if "reason" in t.requires or action in ("forward", "reassign"):
        fields.append(Field("reason", "理由" if action != "close" else "办结说明", "textarea",
                            required="reason" in t.requires, max_length=1000))
    return form(f"{t.label}：{item.number}", *fields, submit_label=f"确认{t.label}")


def _done_message(action: str, approval) -> str:
    label = wf.TRANSITIONS[action].label
    if approval is not None:
        return f"已提交{wf.APPROVAL_KINDS[approval.kind]}申请，等待{approval.approver_unit.name}负责人审批"
    return f"已{label}"


@bp.route("/items/<int:item_id>/act/<action>", methods=["GET", "POST"])
def act(item_id: int, action: str):
    """One action's form; submitted once (idempotency key), refused with the reason when not allowed now."""
    try:
        found = _item(item_id)
    except ApiError as err:
        return page_error(err.status, err.message)
    if action not in wf.TRANSITIONS:
        abort(404)
    item_url = url_for("staff.item", item_id=item_id)
    if request.method == "GET" and action not in wf.allowed_actions(found, g.user):
        flash(f"您现在不能对该工单「{wf.TRANSITIONS[action].label}」", "error")
        return page_error(409, f"您现在不能对该工单「{wf.TRANSITIONS[action].label}」", back_url=item_url)

    def save(values: dict) -> str:
        data = {k: v for k, v in values.items() if v not in (None, "", [])}
        _, result = wf.perform(item_id, action, g.user, data)
        flash(_done_message(action, result.get("approval")), "ok")
        return item_url

    return handle_form(action_form(found, action), save=save, fallback_url=item_url,
                       initial={"version": found.version}, back_url=item_url)


# --- approvals ---------------------------------------------------------------------------------------

@bp.get("/approvals")
def approvals():
    """Forward and extension requests waiting for my decision."""
    rows = db.session.execute(wf.pending_approvals_for(g.user).order_by(WorkItemApproval.id.desc()).limit(100)
                              ).scalars().all()
    listing = ListPage("待我审批", [Row(
        f"{wf.APPROVAL_KINDS[a.kind]}：{a.work_item.title}", url_for("staff.item", item_id=a.work_item_id),
        f"{a.work_item.number} · {a.from_unit.name}" + (f" → {a.target_unit.name}" if a.target_unit else "")
        + (f" · 延期 {a.days} 个工作日" if a.days else ""), [Badge("待审批", "info")],
        [("理由", a.reason or "—"), ("申请人", a.requested_by.name if a.requested_by else "—")]) for a in rows],
        empty="没有待审批的申请")
    return render_template("web/list.html", list=listing, back_url=url_for("staff.home"))


@bp.route("/approvals/<int:approval_id>/<decision>", methods=["GET", "POST"])
def decide(approval_id: int, decision: str):
    """同意 / 驳回 in the workbench: the same decision as a tap on the WeCom card."""
    if decision not in ("approve", "reject"):
        abort(404)
    approval = db.session.get(WorkItemApproval, approval_id)
    if approval is None or not wf.approver_can_decide(g.user, approval):
        return page_error(404, "审批不存在，或您不是该申请的审批人")
    item_url = url_for("staff.item", item_id=approval.work_item_id)
    approve = decision == "approve"

    def save(values: dict) -> str:
        decided, applied = wf.decide(approval_id, g.user, approve, via="workbench", note=values["note"] or None)
        if not applied:
            raise ApiError(409, "already_decided", f"该申请已处理：{wf.APPROVAL_STATUS[decided.status]}")
        flash(f"已{'同意' if approve else '驳回'}{wf.APPROVAL_KINDS[decided.kind]}申请", "ok")
        return item_url

    kind = wf.APPROVAL_KINDS[approval.kind]
    return handle_form(form(f"{'同意' if approve else '驳回'}{kind}：{approval.work_item.number}",
                            Field("note", "审批意见", "textarea", max_length=1000,
                                  required=not approve),
                            submit_label=f"确认{'同意' if approve else '驳回'}"),
                       save=save, fallback_url=item_url, back_url=item_url)
