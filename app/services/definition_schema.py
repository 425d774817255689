"""A published definition as JSON Schema (draft 2020-12) plus UI hints, so a client renders the form and list.

The schema says what a valid `values` object is; `ui` says how to show it: sections, widgets, list
columns, filters, the sort. Field types map to JSON types with an `x-type` naming the toolbox type.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.services import fields as F

WIDGETS = {"text": "input", "long_text": "textarea", "integer": "number", "decimal": "number", "boolean": "switch",
           "choice": "radio", "multi_choice": "checkbox", "date": "date", "datetime": "datetime",
           "photos": "photo_upload", "location": "map_point", "place": "place_scan", "org_unit": "org_picker",
           "staff": "staff_picker", "phone": "phone", "id_number": "id_number", "person_name": "input",
           "serial": "readonly",
           "group": "table"}


def field_schema(spec: Mapping) -> dict:
    kind = spec["type"]
    out: dict = {"title": spec["label"], "x-type": kind}
    if spec.get("help"):
        out["description"] = spec["help"]
    if kind in ("text", "long_text"):
        out["type"] = "string"
        out["maxLength"] = spec.get("max_length") or (200 if kind == "text" else 5000)
        if spec.get("min_length"):
            out["minLength"] = spec["min_length"]
        if spec.get("pattern"):
            out["pattern"] = spec["pattern"]
    elif kind in F.NUMBERS:
        out["type"] = "integer" if kind == "integer" else "number"
        if spec.get("min") is not None:
            out["minimum"] = spec["min"]
        if spec.get("max") is not None:
            out["maximum"] = spec["max"]
    elif kind == "boolean":
        out["type"] = "boolean"
    elif kind == "choice":
        out["enum"] = F.option_values(spec)
        out["x-labels"] = {str(v): F.option_label(spec, v) for v in out["enum"]}
    elif kind == "multi_choice":
        values = F.option_values(spec)
        out.update(type="array", uniqueItems=True, items={"enum": values},
                   **{"x-labels": {str(v): F.option_label(spec, v) for v in values}})
    elif kind in ("date", "datetime"):
        out.update(type="string", format="date" if kind == "date" else "date-time")
    elif kind == "photos":
        out.update(type="array", items={"type": "integer"}, maxItems=spec.get("max") or 9,
                   description="POST /api/v1/attachments 上传后返回的照片编号")
    elif kind == "location":
        out.update(type="object", properties={"lat": {"type": "number"}, "lng": {"type": "number"},
                                              "address": {"type": "string", "maxLength": 200}})
    elif kind == "phone":
        out.update(type="string", pattern=F.PHONE.pattern, **{"x-personal": True})
    elif kind == "id_number":
        out.update(type="string", pattern=F.ID_NUMBER.pattern, **{"x-personal": True})
    elif kind == "person_name":
        out.update(type="string", maxLength=spec.get("max_length") or 50, **{"x-personal": True})
    elif kind == "serial":
        out.update(type="string", readOnly=True)
    elif kind == "group":
        out.update(type="array", items=object_schema(spec["fields"]))
        if spec.get("min") is not None:
            out["minItems"] = spec["min"]
        if spec.get("max") is not None:
            out["maxItems"] = spec["max"]
    else:                                    # place, org_unit, staff: codes
        out["type"] = "string"
    return out


def object_schema(specs) -> dict:
    out = {"type": "object", "additionalProperties": False, "properties": {s["name"]: field_schema(s) for s in specs}}
    required = [s["name"] for s in specs if s.get("required") and s["type"] != "serial"]
    if required:  # OpenAPI 3.0 refuses an empty list
        out["required"] = required
    return out


def json_schema(body: Mapping, version: int) -> dict:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": body["name"],
              **object_schema(body["fields"])}
    ui = {
        "icon": body["icon"], "sections": body["sections"], "list_columns": body["list_columns"],
        "filters": [f["name"] for f in body["fields"] if f.get("filterable")], "sort": body["sort"],
        "widgets": {f["name"]: WIDGETS[f["type"]] for f in body["fields"]},
        "categories": [{"code": c["code"], "name": c["name"]} for c in body["categories"]],
        "rules": [{"code": r["code"], "kind": r["kind"], "category": r["category"]} for r in body["rules"]],
    }
    return {"code": body["code"], "name": body["name"], "version": version, "schema": schema, "ui": ui}
