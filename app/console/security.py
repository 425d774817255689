"""安全管理员: people and their roles (三员分立 enforced), the staff import (dry run first), directory
sync, sessions."""

from __future__ import annotations

import hashlib

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import exists, or_, select

from app.auth import active_tokens, revoke_tokens
from app.console import ROLE_LABELS, page
from app.console.helpers import arg, ask_to_confirm, confirmed, paged, unit_by_code
from app.errors import ApiError
from app.extensions import db
from app.models.audit import AuditLog
from app.models.org import OrgUnit
from app.models.users import KNOWN_ROLES, SEPARATED_ADMIN_ROLES, Membership, Role, User
from app.services import audit
from app.services.directory import import_roster
from app.services.like import contains, starts_with
from app.services.roles import grant_role, revoke_membership
from app.services.scope import admin_scope_clause, in_admin_scope

SECURITY = Role.SECURITY_ADMIN
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _visible_people():
    """People holding a role inside the subtrees where I am security admin (as GET /api/v1/users)."""
    held = select(Membership.id).join(OrgUnit).where(
        Membership.user_id == User.id, admin_scope_clause(OrgUnit.path, g.user, SECURITY))
    return select(User).where(exists(held))


def _person(userid: str) -> User:
    user = db.session.execute(_visible_people().where(User.wecom_userid == userid)).scalar_one_or_none()
    if user is None:
        abort(404)
    return user


@page("/people", SECURITY, title="人员与角色")
def people():
    """Search people by name or userid, unit and role (filters stay in the URL)."""
    stmt = _visible_people()
    if arg("q"):
        stmt = stmt.where(or_(contains(User.name, arg("q")),
                              contains(User.wecom_userid, arg("q"))))
    unit, role = unit_by_code(arg("unit")), arg("role")
    if unit is not None or role:
        held = select(Membership.id).join(OrgUnit).where(Membership.user_id == User.id)
        if unit is not None:
            held = held.where(starts_with(OrgUnit.path, unit.path))
        if role:
            held = held.where(Membership.role == role)
        stmt = stmt.where(exists(held))
    result = paged(stmt.order_by(User.wecom_userid))
    return render_template("console/people.html", title="人员与角色", page=result, roles=ROLE_LABELS)


@page("/people/<userid>", SECURITY, methods=("GET", "POST"))
def person(userid: str):
    """One person: roles per unit (grant, with the 三员 rule checked in the form), sessions."""
    user = _person(userid)
    errors, values = {}, {"role": "", "unit": ""}
    if request.method == "POST":
        values = {"role": request.form.get("role", ""), "unit": request.form.get("unit", "").strip()}
        unit = unit_by_code(values["unit"])
        if values["role"] not in KNOWN_ROLES:
            errors["role"] = "请选择角色"
        if unit is None:
            errors["unit"] = "请输入有效的单位代码"
        elif not in_admin_scope(g.user, unit.path, SECURITY):
            errors["unit"] = "该单位不在您的管理范围内"
        if not errors:
            try:
                grant_role(user, values["role"], unit, actor=g.user)
            except ApiError as err:
                errors["role"] = err.message
            else:
                db.session.commit()
                flash(f"已授予 {user.name} {unit.name}的{ROLE_LABELS[values['role']]}角色")
                return redirect(url_for("console.person", userid=userid))
    return render_template("console/person.html", title=f"{user.name}（{user.wecom_userid}）", person=user,
                           roles=ROLE_LABELS, separated=SEPARATED_ADMIN_ROLES, errors=errors, values=values,
                           sessions=active_tokens(user)), 422 if errors else 200


@page("/people/<userid>/roles/<int:membership_id>/revoke", SECURITY, methods=("POST",))
def role_revoke(userid: str, membership_id: int):
    """Take one role away; asks first."""
    user = _person(userid)
    membership = next((m for m in user.memberships if m.id == membership_id), None)
    if membership is None:
        abort(404)
    if not confirmed():
        return ask_to_confirm("确认撤销角色", f"撤销 {user.name} 在 {membership.org_unit.name} 的"
                              f"{ROLE_LABELS.get(membership.role, membership.role)}角色？",
                              back_url=url_for("console.person", userid=userid))
    revoke_membership(user, membership_id, actor=g.user)
    db.session.commit()
    flash("已撤销角色")
    return redirect(url_for("console.person", userid=userid))


@page("/people/<userid>/sessions/revoke", SECURITY, methods=("POST",))
def sessions_revoke(userid: str):
    """End all of a person's sessions (mini-app and browser); asks first; audited."""
    user = _person(userid)
    if not confirmed():
        return ask_to_confirm("确认强制下线", f"{user.name} 的所有登录（小程序与网页）将立即失效，需重新登录。",
                              back_url=url_for("console.person", userid=userid))
    n = revoke_tokens(user)
    audit.record("auth.sessions_revoke", target_type="user", target_id=user.id,
                 detail={"userid": user.wecom_userid, "sessions": n})
    db.session.commit()
    flash(f"已使 {user.name} 的 {n} 个登录失效")
    return redirect(url_for("console.person", userid=userid))


# --- staff import -------------------------------------------------------------------------------

def _import_options() -> dict:
    return {"scope": request.form.get("scope", "").strip(),
            "disable_missing": request.form.get("disable_missing") == "1"}


def _upload(errors: dict) -> tuple[str, bytes] | None:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = "请选择 CSV 或 XLSX 文件"
        return None
    data = upload.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        errors["file"] = "文件过大（上限 5 MB）"
        return None
    return upload.filename, data


@page("/import", SECURITY, title="人员导入", methods=("GET", "POST"))
def staff_import():
    """Upload a roster: a dry run first (new, changed, would be disabled); applying needs the same file again."""
    errors, plan, options, digest, filename = {}, None, _import_options(), "", ""
    if request.method == "POST":
        upload = _upload(errors)
        apply = request.form.get("apply") == "1"
        if upload is not None:
            filename, data = upload
            digest = hashlib.sha256(data).hexdigest()
            if apply and digest != request.form.get("checked_sha256"):
                errors["file"] = "文件与预检时不同，请先对这个文件预检"
                apply = False
            if options["disable_missing"] and not options["scope"]:
                errors["scope"] = "停用名单外人员时须填写范围单位"
            else:
                try:
                    plan = import_roster(filename, data, actor=g.user, dry_run=not apply,
                                         scope_code=options["scope"] or None,
                                         disable_missing=options["disable_missing"])
                except ApiError as err:
                    errors["scope" if err.code in ("org_unit_not_found", "out_of_scope") else "file"] = err.message
            if plan is not None and apply and not plan.errors:
                flash(f"导入完成：新增 {plan.count('create')} 人，更新 {plan.count('update')} 人，"
                      f"停用 {plan.count('disable')} 人")
                return redirect(url_for("console.staff_import"))
    return render_template("console/import.html", title="人员导入", errors=errors, plan=plan, options=options,
                           digest=digest, filename=filename), 422 if errors else 200


@page("/directory", SECURITY, title="通讯录同步", methods=("GET", "POST"))
def directory():
    """The WeCom directory sync: its recent runs (from the audit log) and a button to run one."""
    if request.method == "POST":
        from app.wecom.directory import sync_directory_job

        dry_run = request.form.get("dry_run") == "1"
        audit.record("directory.sync_requested", detail={"dry_run": dry_run})
        db.session.commit()
        handle = sync_directory_job.delay(dry_run, False)
        flash(f"已提交同步任务（{'预检' if dry_run else '正式同步'}），任务号 {handle.id}")
        return redirect(url_for("console.directory"))
    runs = db.session.execute(select(AuditLog).where(AuditLog.action == "directory.sync")
                              .order_by(AuditLog.id.desc()).limit(20)).scalars().all()
    return render_template("console/directory.html", title="通讯录同步", runs=runs)
