"""Pages described as data: a form, a list, a detail, rendered by the shared templates.

A code tool builds these in its `workbench.py`; a tool defined without code (issue 15) can build
the same objects from its definition, so both render through one set of templates
(web/form.html, web/list.html, web/detail.html) and one form reader (`read_form`).

Field types: text, textarea, int, decimal, bool, choice, multi, date, datetime, phone, hidden,
photos (uploads, shrunk on the phone), location (lat/lng from WeCom or the browser), and
checklist (fixed lines, each with a result from `options`, a note and photos).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from werkzeug.datastructures import MultiDict

from app.services.workdays import TZ

FIELD_TYPES = frozenset({"text", "textarea", "int", "decimal", "bool", "choice", "multi", "date", "datetime",
                         "phone", "hidden", "photos", "location", "checklist"})
PHONE_RE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "text"
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()   # (value, label): choice, multi, checklist results
    lines: tuple[tuple[str, str], ...] = ()     # checklist: (code, label) of each fixed line
    help: str = ""
    placeholder: str = ""
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    max_photos: int = 9
    note_required_for: tuple[str, ...] = ()     # checklist: results that need a note
    widget: str = ""                            # "radio" shows a choice as buttons

    def __post_init__(self):
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name!r}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Form:
    title: str
    sections: tuple[Section, ...]
    submit_label: str = "提交"
    intro: str = ""
    confirm: str = ""   # asked before submitting, e.g. for a red warning

    @property
    def fields(self) -> list[Field]:
        return [f for s in self.sections for f in s.fields]


def form(title: str, *fields: Field, submit_label: str = "提交", intro: str = "", confirm: str = "") -> Form:
    """A form of one untitled section."""
    return Form(title, (Section("", tuple(fields)),), submit_label=submit_label, intro=intro, confirm=confirm)


# --- reading a submitted form ----------------------------------------------------------------

def _number(raw: str, kind: str):
    try:
        return int(raw) if kind == "int" else float(Decimal(raw))
    except (ValueError, InvalidOperation):
        return None


def _read_one(f: Field, data: MultiDict, files: MultiDict, errors: dict):  # noqa: C901 - one branch per type
    raw = (data.get(f.name) or "").strip()
    if f.type == "bool":
        return data.get(f.name) in ("on", "1", "true", "yes")
    if f.type == "multi":
        chosen = [v for v in data.getlist(f.name) if v in dict(f.options)]
        if f.required and not chosen:
            errors[f.name] = f"请选择{f.label}"
        return chosen
    if f.type == "photos":
        photos = [p for p in files.getlist(f.name) if p and p.filename]
        if len(photos) > f.max_photos:
            errors[f.name] = f"{f.label}最多 {f.max_photos} 张"
        if f.required and not photos:
            errors[f.name] = f"请拍摄或选择{f.label}"
        return photos
    if f.type == "location":
        lat, lng = _number(data.get(f"{f.name}_lat") or "", "decimal"), _number(data.get(f"{f.name}_lng") or "",
                                                                                "decimal")
        if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
            if f.required:
                errors[f.name] = f"请点击“定位”获取{f.label}"
            return None
        return {"lat": lat, "lng": lng}
    if f.type == "checklist":
        return _read_checklist(f, data, files, errors)
    if not raw:
        if f.required:
            errors[f.name] = f"请{'选择' if f.type in ('choice', 'date', 'datetime') else '填写'}{f.label}"
        return None
    if f.max_length is not None and len(raw) > f.max_length:
        errors[f.name] = f"{f.label}不能超过 {f.max_length} 个字"
    if f.type in ("int", "decimal"):
        value = _number(raw, f.type)
        if value is None:
            errors[f.name] = f"{f.label}须为{'整数' if f.type == 'int' else '数字'}"
        elif (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
            bounds = f"{f.min:g} 至 {f.max:g}" if f.min is not None and f.max is not None else (
                f"不小于 {f.min:g}" if f.min is not None else f"不大于 {f.max:g}")
            errors[f.name] = f"{f.label}须在 {bounds} 之间" if "至" in bounds else f"{f.label}须{bounds}"
        return value
    if f.type == "choice":
        if raw not in dict(f.options):
            errors[f.name] = f"请选择有效的{f.label}"
        return raw
    if f.type == "date":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[f.name] = f"{f.label}格式应为 年-月-日"
            return None
    if f.type == "datetime":
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            errors[f.name] = f"{f.label}格式不正确"
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=TZ)
    if f.type == "phone" and not PHONE_RE.match(raw.replace(" ", "")):
        errors[f.name] = "请填写有效的手机号或座机号"
    return raw


def _read_checklist(f: Field, data: MultiDict, files: MultiDict, errors: dict) -> list[dict]:
    lines = []
    for code, label in f.lines:
        prefix = f"{f.name}.{code}"
        result = (data.get(f"{prefix}.result") or "").strip()
        note = (data.get(f"{prefix}.note") or "").strip()
        if result not in dict(f.options):
            errors[prefix] = f"请选择“{label}”的结果"
        elif result in f.note_required_for and not note:
            errors[prefix] = f"“{label}”{dict(f.options)[result]}，请填写说明"
        photos = [p for p in files.getlist(f"{prefix}.photos") if p and p.filename]
        lines.append({"item": code, "result": result, "note": note[:500], "photos": photos})
    return lines


def read_form(form_: Form, data: MultiDict, files: MultiDict) -> tuple[dict, dict]:
    """(values, errors): each field's value converted to its type, and a Chinese message per bad field."""
    values, errors = {}, {}
    for f in form_.fields:
        values[f.name] = _read_one(f, data, files, errors)
    return values, errors


def form_values_for_template(form_: Form, data: MultiDict) -> dict:
    """What the user typed, to show the form again after a refusal (files cannot be kept by the server)."""
    shown: dict = {}
    for f in form_.fields:
        if f.type == "multi":
            shown[f.name] = data.getlist(f.name)
        elif f.type == "location":
            shown[f.name] = {"lat": data.get(f"{f.name}_lat"), "lng": data.get(f"{f.name}_lng")}
        elif f.type == "checklist":
            shown[f.name] = {code: {"result": data.get(f"{f.name}.{code}.result"),
                                    "note": data.get(f"{f.name}.{code}.note")} for code, _ in f.lines}
        elif f.type != "photos":
            shown[f.name] = data.get(f.name)
    return shown


def flatten_errors(fields: dict, prefix: str = "") -> dict[str, str]:
    """A service's 422 `fields` ({"items": {"dust": ["…"]}}) as {"items.dust": "…"} for the template."""
    flat: dict[str, str] = {}
    for key, value in (fields or {}).items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_errors(value, name))
        elif isinstance(value, list | tuple):
            flat[name] = "；".join(str(v) for v in value)
        else:
            flat[name] = str(value)
    return flat


# --- lists and details -------------------------------------------------------------------------

@dataclass
class Badge:
    text: str
    tone: str = ""  # "", "ok", "warn", "danger", "info"


@dataclass
class Row:
    title: str
    url: str | None = None
    subtitle: str = ""
    badges: list[Badge] = field(default_factory=list)
    meta: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Tab:
    key: str
    label: str
    url: str
    count: int | None = None


@dataclass
class Action:
    label: str
    url: str
    style: str = ""      # "primary", "danger"
    method: str = "get"  # "post": a one-tap form (with CSRF and an idempotency key)


@dataclass
class ListPage:
    title: str
    rows: list[Row]
    tabs: list[Tab] = field(default_factory=list)
    active_tab: str = ""
    actions: list[Action] = field(default_factory=list)
    empty: str = "暂无记录"
    page: int = 1
    pages: int = 1
    total: int | None = None
    search: str | None = None  # None: no search box; "": an empty one


@dataclass
class DetailSection:
    title: str
    items: list[tuple[str, str]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    photos: list[int] = field(default_factory=list)
    bars: list[tuple[str, float, str]] = field(default_factory=list)  # (label, 0..100, text)
    note: str = ""


@dataclass
class DetailPage:
    title: str
    subtitle: str = ""
    badges: list[Badge] = field(default_factory=list)
    sections: list[DetailSection] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    back_url: str | None = None
