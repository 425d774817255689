"""系统管理员: the designer of tools defined without code, on the definition services (issue 15).

    /console/designer                     the definitions; a new one; import a definition file
    /console/designer/<code>              the draft: fields (add, reorder, type, label, required, choices,
                                          validation), sections, categories and routing, rules, roles
    /console/designer/<code>/preview      the mobile form at 390 px, by the workbench's own form code
    /console/designer/<code>/publish      the change report first; every field it names needs a resolution
    /console/designer/<code>/export       the draft as a JSON file

The form below edits the draft as the API's PUT does (definitions.update_draft validates and audits).
"""

from __future__ import annotations

import json

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from app.console import ROLE_LABELS, page
from app.errors import ApiError
from app.extensions import db
from app.models.definitions import ToolDefinition
from app.models.users import Role
from app.services import definitions
from app.services import fields as F
from app.services.definitions_io import dump_definition, import_definition, load_definition
from app.terms import TIME_LIMIT_KINDS
from app.web.defined_screens import page_form

ADMIN = Role.ADMIN
BUSINESS_ROLES = ("worker", "operator", "manager")
FIELD_KEYS = ("name", "label", "type", "help", "pattern")
NUMBER_KEYS = ("min", "max", "min_length", "max_length")
FLAGS = ("required", "filterable", "searchable")
RESOLUTION_NAMES = {"keep": "保留旧值（可在记录中查看）", "convert": "转换，无法转换的填默认值", "clear": "清除这些值"}
CHANGE_NAMES = {"removed": "删除字段", "retyped": "更改类型", "stricter": "规则变严", "added_required": "新增必填字段"}


def _definition(code: str) -> ToolDefinition:
    row = db.session.execute(select(ToolDefinition).where(ToolDefinition.code == code)).scalar_one_or_none()
    if row is None:
        abort(404)
    return row


@page("/designer", ADMIN, title="无代码工具设计", order=1)
def designer():
    """Every definition, with its draft and the version in force; create or import one."""
    rows = db.session.execute(select(ToolDefinition).order_by(ToolDefinition.code)).scalars().all()
    return render_template("console/designer_list.html", title="无代码工具设计", rows=rows, errors={}, values={})


@page("/designer/new", ADMIN, methods=("POST",))
def designer_new():
    """A new draft with one text field, to be shaped in the editor."""
    values = {k: request.form.get(k, "").strip() for k in ("code", "name")}
    body = {**values, "fields": [{"name": "title", "label": "标题", "type": "text", "required": True}]}
    try:
        definitions.create_draft(body, g.user)
    except ApiError as err:
        db.session.rollback()
        rows = db.session.execute(select(ToolDefinition).order_by(ToolDefinition.code)).scalars().all()
        field = "name" if "name" in err.message and "code" not in err.message else "code"
        return render_template("console/designer_list.html", title="无代码工具设计", rows=rows,
                               errors={field: err.message}, values=values), err.status
    db.session.commit()
    return redirect(url_for("console.designer_edit", code=values["code"]))


@page("/designer/import", ADMIN, methods=("POST",))
def designer_import():
    """A definition file (JSON or YAML) becomes a draft; publishing stays a separate, reported step."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ApiError(422, "file_required", "请选择定义文件（JSON 或 YAML）")
        body = load_definition(upload.read(1024 * 1024).decode("utf-8", "replace"), upload.filename)
        result = import_definition(body, g.user)
    except ApiError as err:
        db.session.rollback()
        rows = db.session.execute(select(ToolDefinition).order_by(ToolDefinition.code)).scalars().all()
        return render_template("console/designer_list.html", title="无代码工具设计", rows=rows,
                               errors={"file": err.message}, values={}), 422
    db.session.commit()
    outcome = {"created": "新建", "updated": "已更新", "unchanged": "无变化"}[result["draft"]]
    flash(f"已导入 {result['code']}（草稿{outcome}），发布前请查看变更报告")
    return redirect(url_for("console.designer_edit", code=result["code"]))


# --- the editor -----------------------------------------------------------------------------------

def _options(text: str) -> list:
    """One choice a line: `value=label`, or just the label (then it is the value too)."""
    options = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        value, sep, label = line.partition("=")
        options.append({"value": value.strip(), "label": label.strip()} if sep else line)
    return options


def _options_text(spec) -> str:
    return "\n".join(f"{o['value']}={o.get('label', o['value'])}" if isinstance(o, dict) else str(o)
                     for o in spec.get("options") or ())


def _number(raw: str):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw) if raw.lstrip("-").isdigit() else float(raw)
    except ValueError:
        return raw  # kept as typed: the definition check names it


def _read_fields(draft: dict) -> list[dict]:
    """The field rows of the form, in their order; keys the form does not show (a group's lines) are kept."""
    old = {f["name"]: f for f in draft.get("fields") or []}
    fields = []
    for i in range(int(request.form.get("field_count", "0") or 0)):
        p = f"f{i}-"
        if f"{p}name" not in request.form:
            continue
        spec = dict(old.get(request.form.get(f"{p}was", ""), {}))
        for key in FIELD_KEYS:
            value = request.form.get(p + key, "").strip()
            if value:
                spec[key] = value
            else:
                spec.pop(key, None)
        for key in NUMBER_KEYS:
            value = _number(request.form.get(p + key, ""))
            spec.pop(key, None) if value is None else spec.__setitem__(key, value)
        for key in FLAGS:
            spec[key] = request.form.get(p + key) == "1"
        if spec.get("type") in ("choice", "multi_choice"):
            spec["options"] = _options(request.form.get(p + "options", ""))
        else:
            spec.pop("options", None)
        fields.append(spec)
    return fields


def _read_sections(text: str) -> list[dict]:
    """A section a line: `标题：字段1, 字段2`."""
    sections = []
    for line in text.splitlines():
        if not line.strip():
            continue
        title, sep, names = line.replace("：", ":").partition(":")
        names = names if sep else ""
        sections.append({"title": title.strip(), "fields": [n.strip() for n in names.replace("，", ",").split(",")
                                                            if n.strip()]})
    return sections


def _sections_text(draft: dict) -> str:
    return "\n".join(f"{s.get('title') or ''}：{', '.join(s.get('fields') or [])}" for s in draft.get("sections") or [])


def _read_categories() -> list[dict]:
    categories = []
    for i in range(int(request.form.get("category_count", "0") or 0)):
        p = f"c{i}-"
        code = request.form.get(p + "code", "").strip()
        if not code:
            continue  # an empty row (the blank one for adding) is no category
        categories.append({"code": code, "name": request.form.get(p + "name", "").strip(),
                           "route_to": request.form.get(p + "route_to", "").strip() or "street",
                           "limit": request.form.get(p + "limit", "5 working days"),
                           "citizen": request.form.get(p + "citizen") == "1"})
    return categories


def _apply_op(fields: list[dict], op: str) -> list[dict]:
    """Add, move or remove a field row (the buttons of the editor)."""
    verb, _, index = op.partition(":")
    i = int(index) if index.isdigit() else -1
    if verb == "add":
        taken = {f.get("name") for f in fields}
        n = next(n for n in range(len(fields) + 1, len(fields) + 999) if f"field_{n}" not in taken)
        fields.append({"name": f"field_{n}", "label": f"新字段 {n}", "type": "text", "required": False})
    elif verb in ("up", "down") and 0 <= i < len(fields):
        j = i - 1 if verb == "up" else i + 1
        if 0 <= j < len(fields):
            fields[i], fields[j] = fields[j], fields[i]
    elif verb == "remove" and 0 <= i < len(fields):
        fields.pop(i)
    return fields


def _fit_layout(body: dict, renamed: dict[str, str]) -> dict:
    """Sections and list columns follow renamed, removed and added fields, so a field edit never breaks them."""
    names = [f.get("name") for f in body["fields"]]
    sections = [{"title": s["title"], "fields": [renamed.get(n, n) for n in s["fields"] if renamed.get(n, n) in names]}
                for s in body["sections"]] or [{"title": "基本信息", "fields": []}]
    placed = {n for s in sections for n in s["fields"]}
    sections[-1]["fields"] += [n for n in names if n not in placed]
    body["sections"] = [s for s in sections if s["fields"] or s is sections[-1]]
    body["list_columns"] = [renamed.get(n, n) for n in body.get("list_columns") or [] if renamed.get(n, n) in names]
    if body.get("title_field") and renamed.get(body["title_field"], body["title_field"]) not in names:
        body.pop("title_field")
    return body


def _read_body(row: ToolDefinition) -> tuple[dict, list[str]]:
    draft, problems = row.draft, []
    fields = _apply_op(_read_fields(draft), request.form.get("op", "save"))
    renamed = {request.form.get(f"f{i}-was", ""): request.form.get(f"f{i}-name", "").strip()
               for i in range(int(request.form.get("field_count", "0") or 0)) if request.form.get(f"f{i}-was")}
    try:
        rules = json.loads(request.form.get("rules") or "[]")
    except ValueError:
        rules, problems = draft.get("rules") or [], ['规则须为 JSON 列表，例如 [{"code": …, "kind": "threshold", …}]']
    roles = [r for r in request.form.getlist("roles") if r in ROLE_LABELS]
    body = {**draft, "name": request.form.get("name", "").strip(),
            "description": request.form.get("description", ""), "roles": roles, "fields": fields,
            "sections": _read_sections(request.form.get("sections", "")), "categories": _read_categories(),
            "rules": rules}
    return _fit_layout(body, renamed), problems


@page("/designer/<code>", ADMIN, methods=("GET", "POST"))
def designer_edit(code: str):
    """The draft in one form; every button saves it (validated and audited as the API's PUT)."""
    row = _definition(code)
    body, problems = row.draft, []
    if request.method == "POST":
        body, problems = _read_body(row)
        if not problems:
            try:
                definitions.update_draft(code, body, g.user)
            except ApiError as err:
                db.session.rollback()
                problems = err.details.get("problems") or [err.message]
            else:
                db.session.commit()
                if request.form.get("op", "save") == "save":
                    flash("草稿已保存；发布前会先显示变更报告")
                return redirect(url_for("console.designer_edit", code=code) + "#fields")
    return render_template("console/designer_edit.html", title=f"设计：{body.get('name') or code}", row=row,
                           body=body, problems=problems, types=F.TYPES, roles=ROLE_LABELS,
                           business_roles=BUSINESS_ROLES, limits=sorted(TIME_LIMIT_KINDS),
                           options_text=_options_text, sections_text=_sections_text(body),
                           rules_text=json.dumps(body.get("rules") or [], ensure_ascii=False, indent=2),
                           current=definitions.published(code)), 422 if problems else 200


@page("/designer/<code>/preview", ADMIN)
def designer_preview(code: str):
    """The draft's mobile form as the workbench renders it (its own templates and form code), at 390 px."""
    row = _definition(code)
    form = _page_form(definitions.normalise(row.draft))
    response = Response(render_template("web/form.html", layout="web/base.html", title=form.title, form=form,
                                        values={}, errors={}, message=None, idempotency_key="preview",
                                        action="#", draft="", back_url=None, preview=True))
    # The designer shows this page in a frame of its own site (every other page refuses to be framed).
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                                                   "script-src 'self'; frame-ancestors 'self'")
    return response


def _page_form(body):
    """The mobile form exactly as the workbench renders it (one mapping, app.web.defined_screens)."""
    return page_form(body)


# --- publishing -----------------------------------------------------------------------------------

def _resolutions(report: dict) -> tuple[dict, dict]:
    """The resolution chosen for every field the report names (errors next to those without one)."""
    chosen, errors = {}, {}
    for f in report["fields"]:
        name = f["field"]
        action = request.form.get(f"r-{name}", "")
        if action not in RESOLUTION_NAMES:
            errors[name] = "请为此字段选择处理方式"
            continue
        resolution = {"action": action}
        if action == "convert":
            resolution["default"] = request.form.get(f"d-{name}", "").strip() or None
        if action == "clear":
            resolution["expected_count"] = f["lost"]
        chosen[name] = resolution
    return chosen, errors


@page("/designer/<code>/publish", ADMIN, methods=("GET", "POST"))
def designer_publish(code: str):
    """The change report of publishing the draft; publishing needs an explicit resolution for each field it names."""
    _definition(code)
    errors, message = {}, None
    try:
        report = definitions.publish(code, g.user, dry_run=True)
    except ApiError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("console.designer_edit", code=code))
    db.session.rollback()  # a dry run writes nothing
    if request.method == "POST":
        chosen, errors = _resolutions(report)
        if not errors:
            try:
                done = definitions.publish(code, g.user, resolutions={k: v for k, v in chosen.items()
                                                                      if _lost(report, k)})
            except ApiError as err:
                db.session.rollback()
                message = err.message
            else:
                db.session.commit()
                flash(f"已发布第 {done['to_version']} 版（改写 {done.get('rewritten', 0)} 条记录）")
                return redirect(url_for("console.designer_edit", code=code))
    return render_template("console/designer_publish.html", title=f"发布：{code}", code=code, report=report,
                           errors=errors, message=message, resolutions=RESOLUTION_NAMES, changes=CHANGE_NAMES), \
        422 if errors or message else 200


def _lost(report: dict, name: str) -> bool:
    return any(f["field"] == name and f["lost"] for f in report["fields"])


@page("/designer/<code>/export", ADMIN)
def designer_export(code: str):
    """The draft as one JSON file, which the import here (or `flask toolbox definitions import`) takes back."""
    row = _definition(code)
    return Response(dump_definition(row.draft, "json"), mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename={code}.json"})
