"""The console's designer of tools defined without code: a draft edited field by field (validated and
audited as the API's PUT), the 390 px preview by the workbench's form code, publishing only after the
change report with a resolution for every field it names, import and export of a definition file."""

from __future__ import annotations

import io
import json
import re

from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.definitions import DefinedRecord, ToolDefinition


def _actions(app, action):
    with app.app_context():
        return db.session.execute(select(AuditLog).where(AuditLog.action == action)
                                  .order_by(AuditLog.id)).scalars().all()


def _draft(app, code):
    with app.app_context():
        return db.session.execute(select(ToolDefinition).where(ToolDefinition.code == code)).scalar_one().draft


def _editor_fields(html: str) -> dict:
    """The editor form as a browser would send it (inputs, checked boxes, selected options, textareas)."""
    form = re.search(r'<form method="post" class="form wide" id="designer-form".*?</form>', html, re.S).group(0)
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "_csrf":
            continue
        kind = re.search(r'type="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag)
        if kind == "checkbox" and "checked" not in tag:
            continue
        data.setdefault(name.group(1), []).append(value.group(1) if value else "")
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = [body.replace("&#34;", '"').replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")]
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        data[name] = [chosen.group(1) if chosen else ""]
    return data


def _save(admin, code, changes: dict, op="save"):
    data = _editor_fields(admin.get(f"/console/designer/{code}").get_data(as_text=True))
    data.update({k: v if isinstance(v, list) else [v] for k, v in changes.items()})
    data["op"] = [op]
    return admin.post(f"/console/designer/{code}", data)


def test_the_designer_builds_a_tool_field_by_field_and_previews_it_at_phone_size(app, staff, district):
    admin = staff("ja-admin")
    assert "工具编码" in admin.post("/console/designer/new", {"code": "Bad Code", "name": "x"}).get_data(as_text=True)
    assert admin.post("/console/designer/new", {"code": "street_lamps", "name": "路灯巡查"}).status_code == 302
    assert _actions(app, "tool_definition.create")[0].actor == "ja-admin"
    assert _save(admin, "street_lamps", {}, op="add").status_code == 302
    assert [f["name"] for f in _draft(app, "street_lamps")["fields"]] == ["title", "field_2"]
    res = _save(admin, "street_lamps", {"f1-name": "state", "f1-label": "灯况", "f1-type": "choice",
                                        "f1-required": "1", "f1-options": "ok=正常\nbroken=损坏",
                                        "c0-code": "lamp_broken", "c0-name": "路灯损坏", "c0-route_to": "street",
                                        "rules": json.dumps([{"code": "broken", "kind": "choice_in", "field": "state",
                                                              "values": ["broken"], "category": "lamp_broken",
                                                              "title": "路灯损坏"}])})
    assert res.status_code == 302, res.get_data(as_text=True)[:2000]
    draft = _draft(app, "street_lamps")
    state = draft["fields"][1]
    assert state["name"] == "state" and state["required"] and state["options"][1] == {"value": "broken",
                                                                                      "label": "损坏"}
    assert draft["sections"][0]["fields"] == ["title", "state"] and draft["rules"][0]["category"] == "lamp_broken"
    assert _save(admin, "street_lamps", {}, op="up:1").status_code == 302
    assert [f["name"] for f in _draft(app, "street_lamps")["fields"]] == ["state", "title"]
    bad = _save(admin, "street_lamps", {"f0-type": "nonsense"})
    assert bad.status_code == 422 and 'id="problems"' in bad.get_data(as_text=True)
    preview = admin.get("/console/designer/street_lamps/preview")
    html = preview.get_data(as_text=True)
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    assert 'name="state"' in html and "损坏" in html and "/static/web/web.css" in html  # the workbench's form
    assert 'id="preview"' in admin.get("/console/designer/street_lamps").get_data(as_text=True)
    assert staff("ja-secadmin").get("/console/designer/street_lamps").status_code == 403


def test_publishing_shows_the_change_report_and_needs_a_resolution_for_every_field_it_names(app, staff, district):
    admin = staff("ja-admin")
    admin.post("/console/designer/new", {"code": "street_lamps", "name": "路灯巡查"})
    first = admin.get("/console/designer/street_lamps/publish").get_data(as_text=True)
    assert 'data-can-publish="1"' in first
    assert admin.post("/console/designer/street_lamps/publish").status_code == 302
    assert _actions(app, "tool_definition.publish")[0].detail["version"] == 1
    with app.app_context():  # a record under version 1, as the engine keeps it
        from app.services import defined_records, definitions
        from tests.fixtures import District

        worker = District(app).user("ja01g01-worker")
        defined_records.create_record("street_lamps", definitions.published("street_lamps").body,
                                      {"title": "延安中路 12 号灯杆"}, worker, version=1)
        db.session.commit()
    _save(admin, "street_lamps", {"f0-type": "integer"})  # text → integer: the value would be lost
    report = admin.get("/console/designer/street_lamps/publish").get_data(as_text=True)
    assert 'data-field="title"' in report and 'data-can-publish="0"' in report
    refused = admin.post("/console/designer/street_lamps/publish")
    assert refused.status_code == 422 and 'data-error-for="title"' in refused.get_data(as_text=True)
    assert len(_actions(app, "tool_definition.publish")) == 1
    done = admin.post("/console/designer/street_lamps/publish", {"r-title": "keep"})
    assert done.status_code == 302, done.get_data(as_text=True)[:1500]
    assert _actions(app, "tool_definition.publish")[1].detail["resolutions"] == {"title": {"action": "keep"}}
    with app.app_context():
        record = db.session.execute(select(DefinedRecord)).scalar_one()
        assert record.version == 2 and record.legacy["title"]["value"] == "延安中路 12 号灯杆"


def test_a_definition_file_is_exported_and_imported_as_a_draft(app, staff, district):
    admin = staff("ja-admin")
    admin.post("/console/designer/new", {"code": "street_lamps", "name": "路灯巡查"})
    exported = admin.get("/console/designer/street_lamps/export")
    body = json.loads(exported.get_data(as_text=True))
    assert exported.mimetype == "application/json" and body["code"] == "street_lamps"
    body.update(code="street_lamps_copy", name="路灯巡查（副本）")
    res = admin.client.post("/console/designer/import", content_type="multipart/form-data", data={
        "_csrf": admin.csrf, "file": (io.BytesIO(json.dumps(body, ensure_ascii=False).encode()), "copy.json")})
    assert res.status_code == 302
    assert _draft(app, "street_lamps_copy")["name"] == "路灯巡查（副本）"
    bad = admin.client.post("/console/designer/import", content_type="multipart/form-data", data={
        "_csrf": admin.csrf, "file": (io.BytesIO(b"{not json"), "bad.json")})
    assert bad.status_code == 422 and 'data-error-for="file"' in bad.get_data(as_text=True)
