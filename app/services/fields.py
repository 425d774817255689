"""Field types of tools defined without code: the shape of a field, validation of a value, conversion.

Pure (no database): what needs the database — does the Jing'an code, org unit, staff member or photo
exist, encryption of phone and ID numbers, serial numbers — is the engine's (app/services/definitions.py).

A field is a dict: {name, label, type, required?, options?, filterable?, searchable?, min?, max?,
min_length?, max_length?, pattern?, fields? (a group's line fields), help?}. Options are
[{"value", "label"}] (a bare string is both).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 500          # a JSON document has no row-size ceiling; this only stops runaway definitions

TYPES: dict[str, str] = {
    "text": "文本", "long_text": "多行文本", "integer": "整数", "decimal": "小数", "boolean": "是/否",
    "choice": "单选", "multi_choice": "多选", "date": "日期", "datetime": "日期时间", "photos": "照片",
    "location": "位置", "place": "静安码", "org_unit": "组织单位", "staff": "工作人员",
    "phone": "电话号码", "id_number": "身份证号", "person_name": "姓名", "serial": "编号", "group": "重复组",
}
PERSONAL = {"phone", "id_number", "person_name"}     # citizens' data: encrypted at rest, masked, unmask audited
FILTERABLE = {"text", "integer", "decimal", "boolean", "choice", "date", "datetime", "place", "org_unit", "staff",
              "serial"}
NUMBERS = {"integer", "decimal"}
TEXTS = {"text", "long_text"}
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")


def option_values(spec: Mapping) -> list:
    return [o["value"] if isinstance(o, Mapping) else o for o in spec.get("options") or ()]


def option_label(spec: Mapping, value) -> str:
    for o in spec.get("options") or ():
        if (o["value"] if isinstance(o, Mapping) else o) == value:
            return o.get("label", str(value)) if isinstance(o, Mapping) else str(o)
    return str(value)


def check_spec(spec, where: str = "") -> list[str]:
    """Problems (Chinese) with one field's declaration."""
    if not isinstance(spec, Mapping):
        return [f"{where}字段格式无效"]
    name, kind = spec.get("name"), spec.get("type")
    at = f"{where}字段 {name}"
    problems = []
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        problems.append(f"{where}字段名 {name!r} 须为小写字母开头的字母、数字或下划线")
    if not spec.get("label"):
        problems.append(f"{at}：须有显示名称 label")
    if not isinstance(kind, str) or kind not in TYPES:
        return problems + [f"{at}：类型 {kind!r} 不支持（可选：{'、'.join(TYPES)}）"]
    if kind in ("choice", "multi_choice"):
        values = option_values(spec)
        if not values or len(set(map(str, values))) != len(values):
            problems.append(f"{at}：选项 options 须非空且不重复")
    if spec.get("filterable") and kind not in FILTERABLE:
        problems.append(f"{at}：{TYPES[kind]}类型不能作为筛选条件")
    for bound in ("min", "max"):
        if spec.get(bound) is not None and not _number(spec[bound]):
            problems.append(f"{at}：{bound} 须为数字")
    if spec.get("pattern"):
        try:
            re.compile(spec["pattern"])
        except re.error:
            problems.append(f"{at}：正则表达式 pattern 无效")
    if kind == "group":
        lines = spec.get("fields")
        if not isinstance(lines, list) or not lines:
            problems.append(f"{at}：重复组须有行字段 fields")
        else:
            problems += check_specs(lines, where=f"{at}.")
            if any(isinstance(f, Mapping) and f.get("type") in ("group", "serial") for f in lines):
                problems.append(f"{at}：重复组的行字段不能是重复组或编号")
    return problems


def check_specs(specs, where: str = "") -> list[str]:
    if not isinstance(specs, list):
        return [f"{where}fields 须为列表"]
    if len(specs) > MAX_FIELDS:
        return [f"{where}字段数不能超过 {MAX_FIELDS}"]
    problems = [p for spec in specs for p in check_spec(spec, where)]
    names = [s.get("name") for s in specs if isinstance(s, Mapping)]
    repeated = sorted({n for n in names if names.count(n) > 1 and n})
    if repeated:
        problems.append(f"{where}字段名重复：{'、'.join(repeated)}")
    return problems


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


# --- one value --------------------------------------------------------------------------------------

def clean(spec: Mapping, value):
    """(value, None) cleaned for storage, or (None, the Chinese message). Empty values are None."""
    label, kind = spec.get("label") or spec["name"], spec["type"]
    if _empty(value):
        if spec.get("required") and kind != "serial":
            return None, f"请填写{label}"
        return None, None
    cleaner = _CLEANERS.get(kind, _clean_text)
    try:
        return cleaner(spec, label, value)
    except (TypeError, ValueError, InvalidOperation):
        return None, f"{label}格式不正确"


def _bounds(spec, label, number):
    if spec.get("min") is not None and number < spec["min"]:
        return None, f"{label}不能小于{spec['min']}"
    if spec.get("max") is not None and number > spec["max"]:
        return None, f"{label}不能大于{spec['max']}"
    return number, None


def _clean_text(spec, label, value):
    if not isinstance(value, str):
        return None, f"{label}须为文字"
    value = value.strip()
    if spec.get("min_length") and len(value) < spec["min_length"]:
        return None, f"{label}至少{spec['min_length']}个字"
    limit = spec.get("max_length") or (200 if spec["type"] == "text" else 5000)
    if len(value) > limit:
        return None, f"{label}不能超过{limit}个字"
    if spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
        return None, spec.get("pattern_message") or f"{label}格式不正确"
    return value, None


def _clean_integer(spec, label, value):
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return None, f"{label}须为整数"
    if isinstance(value, str) and not re.fullmatch(r"-?\d+", value.strip()):
        return None, f"{label}须为整数"
    return _bounds(spec, label, int(value))


def _clean_decimal(spec, label, value):
    if isinstance(value, bool):
        return None, f"{label}须为数字"
    number = float(Decimal(str(value).strip()))
    return _bounds(spec, label, int(number) if number.is_integer() and spec.get("integral") else number)


def _clean_boolean(spec, label, value):
    if isinstance(value, bool):
        return value, None
    if value in ("true", "1", 1, "是"):
        return True, None
    if value in ("false", "0", 0, "否"):
        return False, None
    return None, f"{label}须为是或否"


def _clean_choice(spec, label, value):
    if value not in option_values(spec):
        return None, f"{label}的选项无效"
    return value, None


def _clean_multi(spec, label, value):
    if not isinstance(value, list):
        return None, f"{label}须为选项列表"
    allowed = option_values(spec)
    if any(v not in allowed for v in value):
        return None, f"{label}的选项无效"
    value = list(dict.fromkeys(value))
    if spec.get("max") is not None and len(value) > spec["max"]:
        return None, f"{label}最多选{spec['max']}项"
    return value, None


def _clean_date(spec, label, value):
    return date.fromisoformat(str(value)).isoformat(), None


def _clean_datetime(spec, label, value):
    return datetime.fromisoformat(str(value)).isoformat(), None


def _clean_photos(spec, label, value):
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        return None, f"{label}须为照片编号列表"
    if len(value) > (spec.get("max") or 9):
        return None, f"{label}最多{spec.get('max') or 9}张"
    return list(dict.fromkeys(value)), None


def _clean_location(spec, label, value):
    if not isinstance(value, Mapping):
        return None, f"{label}须包含经纬度或地址"
    lat, lng, address = value.get("lat"), value.get("lng"), (value.get("address") or "").strip()
    if (lat is None) != (lng is None) or (lat is not None and not (_number(lat) and _number(lng))):
        return None, f"{label}的经纬度无效"
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None, f"{label}的经纬度超出范围"
    if lat is None and not address:
        return None, f"{label}须包含经纬度或地址"
    return {"lat": lat, "lng": lng, "address": address[:200]}, None


def _clean_code(spec, label, value):
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value.strip()):
        return None, f"{label}格式不正确"
    return value.strip(), None


def _clean_phone(spec, label, value):
    value = str(value).strip().replace(" ", "")
    return (value, None) if PHONE.match(value) else (None, f"{label}不是有效的电话号码")


def _clean_id_number(spec, label, value):
    value = str(value).strip().upper()
    return (value, None) if ID_NUMBER.match(value) else (None, f"{label}不是有效的身份证号")


def _clean_group(spec, label, value):
    if not isinstance(value, list):
        return None, f"{label}须为列表"
    if spec.get("min") is not None and len(value) < spec["min"]:
        return None, f"{label}至少{spec['min']}行"
    if spec.get("max") is not None and len(value) > spec["max"]:
        return None, f"{label}最多{spec['max']}行"
    lines, errors = [], {}
    for i, line in enumerate(value):
        cleaned, line_errors = clean_values(spec["fields"], line if isinstance(line, Mapping) else {})
        lines.append(cleaned)
        if line_errors:
            errors[str(i)] = line_errors
    if errors:
        return None, errors
    return lines, None


_CLEANERS = {
    "text": _clean_text, "long_text": _clean_text, "integer": _clean_integer, "decimal": _clean_decimal,
    "boolean": _clean_boolean, "choice": _clean_choice, "multi_choice": _clean_multi, "date": _clean_date,
    "datetime": _clean_datetime, "photos": _clean_photos, "location": _clean_location, "place": _clean_code,
    "org_unit": _clean_code, "staff": _clean_code, "phone": _clean_phone, "id_number": _clean_id_number,
    "person_name": lambda spec, label, value: _clean_text({**spec, "max_length": spec.get("max_length") or 50},
                                                          label, value),
    "serial": lambda spec, label, value: (str(value), None), "group": _clean_group,
}


def clean_values(specs, payload: Mapping, *, partial: bool = False) -> tuple[dict, dict]:
    """(cleaned values, {field: [message]}) for a record's payload. partial: only the fields given.
    Unknown keys are refused, so a typo is not silently dropped."""
    values, errors = {}, {}
    by_name = {s["name"]: s for s in specs}
    for key in payload:
        if key not in by_name:
            errors[key] = ["未知字段"]
    for spec in specs:
        name = spec["name"]
        if spec["type"] == "serial" or (partial and name not in payload):
            continue
        value, error = clean(spec, payload.get(name))
        if error:
            errors[name] = error if isinstance(error, dict) else [error]
        elif value is not None:
            values[name] = value
    return values, errors


# --- conversion between types (schema change) --------------------------------------------------------

def convert(value, old: Mapping, new: Mapping):
    """(True, value under the new field) or (False, None) when the value cannot be carried over."""
    if value is None:
        return True, None
    old_t, new_t = old["type"], new["type"]
    if old_t in PERSONAL or new_t in PERSONAL or old_t == "group" or new_t == "group":
        if old_t != new_t:
            return False, None
        if new_t == "group":
            return _convert_group(value, old, new)
        return True, value
    candidate = value
    if old_t == "multi_choice" and new_t != "multi_choice":
        if len(value) != 1:
            return (True, "、".join(map(str, value))) if new_t in TEXTS else (False, None)
        candidate = value[0]
    if new_t == "multi_choice" and not isinstance(candidate, list):
        candidate = [candidate]
    if new_t in TEXTS and not isinstance(candidate, str):
        candidate = ("是" if candidate else "否") if isinstance(candidate, bool) else str(candidate)
    if new_t == "date" and old_t == "datetime":
        candidate = str(candidate)[:10]
    cleaned, error = clean(dict(new, required=False), candidate)
    return (False, None) if error else (True, cleaned)


def _convert_group(lines, old: Mapping, new: Mapping):
    old_fields = {f["name"]: f for f in old["fields"]}
    result = []
    for line in lines:
        converted = {}
        for spec in new["fields"]:
            if spec["name"] not in old_fields:
                continue
            ok, value = convert(line.get(spec["name"]), old_fields[spec["name"]], spec)
            if not ok:
                return False, None
            if value is not None:
                converted[spec["name"]] = value
        result.append(converted)
    return True, result
