"""The workbench screens of a tool defined without code, built from its published definition.

One list (newest first, filter tabs on the first choice field), one detail (the definition's sections,
photos, the work items its rules raised), one form (the mobile form: the definition's sections and fields,
each mapped to a page field type) — rendered by the same templates as a code tool's screens, and saved
through the same service as the API (app/services/defined_records.py), so one set of rules applies.

A repeating group is one textarea on the page: a line per row, its values separated by commas or "，"
(e.g. "101，3，是"), read into the group's lines and validated like the API's.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import flash

from app.errors import ApiError
from app.services import defined_records as records
from app.services import fields as F
from app.web.screens import Action, Badge, DetailPage, DetailSection, Field, Form, ListPage, Row, Section, Tab
from app.web.toolscreens import FormScreen, ToolScreens

PAGE_TYPES = {"text": "text", "long_text": "textarea", "integer": "int", "decimal": "decimal", "boolean": "bool",
              "choice": "choice", "multi_choice": "multi", "date": "date", "datetime": "datetime",
              "photos": "photos", "location": "location", "phone": "phone", "place": "text", "org_unit": "text",
              "staff": "text", "id_number": "text", "person_name": "text", "group": "textarea"}
STATE_NAMES = {"closed": "已办结"}


def _page_field(spec) -> Field | None:
    kind = spec["type"]
    if kind == "serial":
        return None
    helps = {"place": "扫描或输入静安码", "org_unit": "单位编码，如 JA01G01", "staff": "工作人员企业微信账号",
             "group": "每行一条，各项以逗号分隔：" + "，".join(x["label"] for x in spec.get("fields") or ())}
    return Field(spec["name"], spec["label"], PAGE_TYPES[kind], required=bool(spec.get("required")),
                 options=tuple((str(v), F.option_label(spec, v)) for v in F.option_values(spec)),
                 help=spec.get("help") or helps.get(kind, ""), min=spec.get("min"), max=spec.get("max"),
                 max_length=spec.get("max_length") if kind in F.TEXTS else None,
                 max_photos=spec.get("max") or 9 if kind == "photos" else 9)


def page_form(body) -> Form:
    specs = {f["name"]: f for f in body["fields"]}
    sections = []
    for section in body["sections"]:
        fields = tuple(f for f in (_page_field(specs[n]) for n in section.get("fields") or () if n in specs) if f)
        if fields:
            sections.append(Section(section.get("title") or "", fields))
    return Form(body["name"], tuple(sections), submit_label="提交")


def _group_lines(spec, text: str | None) -> list[dict]:
    lines = []
    for raw in (text or "").splitlines():
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.replace("，", ",").split(",")]
        line = {}
        for sub, value in zip(spec["fields"], parts, strict=False):
            if value:
                line[sub["name"]] = _typed(sub, value)
        lines.append(line)
    return lines


def _typed(spec, value: str):
    if spec["type"] == "boolean":
        return {"是": True, "否": False}.get(value, value)
    if spec["type"] in F.NUMBERS:
        try:
            return int(value) if spec["type"] == "integer" else float(value)
        except ValueError:
            return value
    return value


def payload_from_page(body, values: dict) -> dict:
    """The page's values as the API's payload: dates as ISO text, groups from their lines."""
    specs = {f["name"]: f for f in body["fields"]}
    out = {}
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None or value in (None, "", []):
            continue
        if spec["type"] == "group":
            value = _group_lines(spec, value)
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        elif spec["type"] == "choice":
            value = next((v for v in F.option_values(spec) if str(v) == value), value)
        elif spec["type"] == "multi_choice":
            allowed = {str(v): v for v in F.option_values(spec)}
            value = [allowed.get(v, v) for v in value]
        out[name] = value
    return out


def _display(spec, value) -> str:
    if value is None or value == "":
        return ""
    kind = spec["type"]
    if kind in ("choice", "multi_choice"):
        return "、".join(F.option_label(spec, v) for v in (value if isinstance(value, list) else [value]))
    if kind == "boolean":
        return "是" if value else "否"
    if kind == "location":
        return value.get("address") or f"{value.get('lat')}, {value.get('lng')}"
    if kind == "group":
        subs = spec["fields"]
        return "；".join("，".join(f"{s['label']} {_display(s, line.get(s['name']))}" for s in subs
                                 if line.get(s["name"]) is not None) for line in value)
    if kind == "photos":
        return f"{len(value)} 张"
    return str(value)


def screens_of(tool, current) -> ToolScreens:
    """The ToolScreens of a defined tool at its published version."""
    body, code = current.body, tool.code
    specs = {f["name"]: f for f in body["fields"]}
    screens = ToolScreens(code, home="records")
    tab_field = next((f for f in body["fields"] if f["type"] == "choice" and f.get("filterable")), None)

    @screens.record("record")
    def record_url(ident) -> str:
        return screens.url("records", ident)

    @screens.list("records", body["name"])
    def record_list(user, args) -> ListPage:
        filters, tabs, active = {}, [], ""
        if tab_field is not None:
            chosen = args.get(tab_field["name"])
            tabs = [Tab("", "全部", screens.url("records"))] + [
                Tab(str(v), F.option_label(tab_field, v), screens.url("records", **{tab_field["name"]: v}))
                for v in F.option_values(tab_field)]
            if chosen:
                filters[tab_field["name"]] = active = chosen
        stmt = records.list_statement(code, body, user, filters)
        page = records.page_of(stmt, args["page"], 20, lambda r: r)
        rows = []
        for r in page["items"]:
            values = records.view(r, body, with_matches=False)["values"]
            title_field = body.get("title_field")
            title = _display(specs[title_field], values.get(title_field)) if title_field in specs else ""
            rows.append(Row(title or r.serial or f"记录 {r.id}", record_url(r.id), r.serial or "",
                            [Badge(f"v{r.version}")],
                            [(specs[c]["label"], _display(specs[c], values.get(c))) for c in body["list_columns"]
                             if c in specs and c != title_field]))
        return ListPage(title=body["name"], rows=rows, tabs=tabs, active_tab=active, page=args["page"],
                        pages=max(1, page["pages"]), total=page["total"],
                        actions=[Action("新增记录", screens.form_url("new"), "primary")], empty="暂无记录")

    @screens.detail("records")
    def record_detail(user, ident) -> DetailPage:
        record = records.get_record(code, ident, user)
        shown = records.view(record, body)
        values = shown["values"]
        sections = []
        for section in body["sections"]:
            items = [(specs[n]["label"], _display(specs[n], values.get(n))) for n in section.get("fields") or ()
                     if n in specs and specs[n]["type"] != "photos"]
            sections.append(DetailSection(section.get("title") or "", items=items))
        if record.photo_ids:
            sections.append(DetailSection("照片", photos=list(record.photo_ids)))
        if shown["work_items"]:
            sections.insert(0, DetailSection("工单", rows=[
                Row(m["work_item"]["number"], f"/h5/staff/items/{m['work_item']['id']}", m["explanation"],
                    [Badge("已派单" if m["outcome"] == "raised" else "已并入", "warn")]) for m in shown["work_items"]]))
        return DetailPage(title=record.serial or f"记录 {record.id}", subtitle=record.address or "",
                          back_url=screens.url("records"), sections=sections,
                          badges=[Badge(f"第 {record.version} 版")])

    @screens.form("new")
    def new_record(user, args) -> FormScreen:
        place_field = next((n for n, s in specs.items() if s["type"] == "place"), None)
        initial = {place_field: args["place"]} if place_field and args.get("place") else {}

        def save(values: dict) -> str:
            record = records.create_record(code, body, payload_from_page(body, values), user,
                                           version=current.version)
            raised = [m for m in records.matches_of(record)]
            flash("已提交" + (f"，已派发工单 {raised[0]['work_item']['number']}" if raised else ""), "ok")
            return record_url(record.id)

        return FormScreen(form=page_form(body), save=save, initial=initial, back_url=screens.url("records"))

    return screens


def defined_screens(tool) -> ToolScreens | None:
    from app.services.definitions import published

    current = published(tool.code)
    if current is None:
        raise ApiError(404, "tool_not_found", "工具不存在", "No such tool")
    return screens_of(tool, current)
