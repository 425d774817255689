"""Rules that raise work items: a fixed set of kinds with parameters, never free code.

Pure: no database, no request, no Flask. A tool definition (issue 15) and a sensor reading (issue 19)
both hold rules as plain dicts and ask the same two questions of them:

    rule = parse_rule({"code": "overflow", "kind": "threshold", "field": "count", "op": ">", "value": 10,
                       "category": "overflow"})                       # RuleError naming every problem
    problems = check_fields(rule, {"count": "integer"})                  # the fields it names exist, right type
    match = evaluate(rule, {"count": 12}, labels={"count": "车辆数"})      # Match or None
    match.explanation                                                    # "车辆数 12 超过 10"

Kinds and their parameters:

    threshold            field, op (> >= < <=), value (a number)     a number over (or under) a threshold
    choice_in            field, values (list)                        a choice (or any of several) in a set
    line_fails           field (a repeating group), line_field,      any line of the group whose line_field
                         and values (list) or op + value             is one of values (e.g. 不合格, false),
                                                                     or passes the threshold (e.g. > 4 people)
    empty_past_deadline  field, and deadline_field (a date/datetime  the field is still empty when the
                         field of the record) or days (after the     deadline has passed
                         record was created)

Every rule also names the work-item `category` it raises (a category of its tool) and may give a `title`.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
OP_WORDS = {">": "超过", ">=": "达到", "<": "低于", "<=": "不高于"}
NUMBER_TYPES = {"integer", "decimal", "number"}
CHOICE_TYPES = {"choice", "multi_choice", "boolean", "text"}
DATE_TYPES = {"date", "datetime"}

KINDS: dict[str, dict] = {
    "threshold": {"name": "数值超过阈值", "required": ("field", "op", "value")},
    "choice_in": {"name": "选项属于指定集合", "required": ("field", "values")},
    "line_fails": {"name": "重复组任一行不合格", "required": ("field", "line_field")},
    "empty_past_deadline": {"name": "逾期未填写", "required": ("field",)},
}


class RuleError(ValueError):
    """A rule is malformed; .problems lists every problem in Chinese."""

    def __init__(self, problems: list[str]):
        super().__init__("；".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    category: str
    params: Mapping = field(default_factory=dict)
    title: str = ""

    def to_dict(self) -> dict:
        return {"code": self.code, "kind": self.kind, "category": self.category, "title": self.title,
                **dict(self.params)}


@dataclass(frozen=True)
class Match:
    rule: str
    category: str
    explanation: str           # Chinese, for the work item's description and the record's answer
    title: str = ""


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_rule(data: Mapping) -> Rule:
    """A Rule from its dict form, or RuleError listing every problem."""
    if not isinstance(data, Mapping):
        raise RuleError(["规则格式无效"])
    problems = []
    code, kind, category = data.get("code"), data.get("kind"), data.get("category")
    if not isinstance(code, str) or not code:
        problems.append("规则须有编码 code")
    if kind not in KINDS:
        problems.append(f"规则 {code}：类型 kind 须为 {'、'.join(KINDS)} 之一")
        raise RuleError(problems)
    if not isinstance(category, str) or not category:
        problems.append(f"规则 {code}：须指定派发工单的类别 category")
    params = {k: v for k, v in data.items() if k not in ("code", "kind", "category", "title")}
    for name in KINDS[kind]["required"]:
        if params.get(name) in (None, "", []):
            problems.append(f"规则 {code}：缺少参数 {name}")
    problems += _param_problems(code, kind, params)
    if problems:
        raise RuleError(problems)
    return Rule(code=code, kind=kind, category=category, params=params, title=str(data.get("title") or ""))


def _param_problems(code, kind: str, params: Mapping) -> list[str]:
    problems = []
    if kind == "threshold":
        if params.get("op") is not None and params["op"] not in OPS:
            problems.append(f"规则 {code}：比较符 op 须为 {' '.join(OPS)} 之一")
        if params.get("value") is not None and not _is_number(params["value"]):
            problems.append(f"规则 {code}：阈值 value 须为数字")
    if kind == "line_fails":
        by_set, by_threshold = params.get("values") is not None, params.get("op") is not None
        if by_set == by_threshold:
            problems.append(f"规则 {code}：须且只须指定 values（不合格的取值）或 op + value（阈值）之一")
        elif by_threshold:
            problems += _param_problems(code, "threshold", params)
    if kind in ("choice_in", "line_fails") and params.get("values") is not None \
            and not isinstance(params["values"], list | tuple):
        problems.append(f"规则 {code}：values 须为列表")
    if kind == "empty_past_deadline":
        days, deadline_field = params.get("days"), params.get("deadline_field")
        if (days is None) == (deadline_field is None):
            problems.append(f"规则 {code}：须且只须指定 days（创建后天数）或 deadline_field（期限字段）之一")
        elif days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 0):
            problems.append(f"规则 {code}：days 须为非负整数")
    return problems


def check_fields(rule: Rule, field_types: Mapping[str, str],
                 group_fields: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """Problems (Chinese) with the fields a rule names: they must exist and be of a kind the rule can read.

    field_types: field name → type; group_fields: repeating-group name → {line field → type}."""
    p = rule.params
    name = p.get("field")
    kind_of = field_types.get(name)
    if kind_of is None:
        return [f"规则 {rule.code}：字段 {name} 不存在"]
    if rule.kind == "threshold" and kind_of not in NUMBER_TYPES:
        return [f"规则 {rule.code}：字段 {name} 须为数字类型"]
    if rule.kind == "choice_in" and kind_of not in CHOICE_TYPES:
        return [f"规则 {rule.code}：字段 {name} 须为选项、布尔或文本类型"]
    if rule.kind == "line_fails":
        lines = (group_fields or {}).get(name)
        if kind_of != "group" or lines is None:
            return [f"规则 {rule.code}：字段 {name} 须为重复组"]
        if p.get("line_field") not in lines:
            return [f"规则 {rule.code}：重复组 {name} 没有字段 {p.get('line_field')}"]
        if p.get("op") is not None and lines[p["line_field"]] not in NUMBER_TYPES:
            return [f"规则 {rule.code}：重复组字段 {p['line_field']} 须为数字类型"]
    if rule.kind == "empty_past_deadline" and p.get("deadline_field") is not None \
            and field_types.get(p["deadline_field"]) not in DATE_TYPES:
        return [f"规则 {rule.code}：期限字段 {p['deadline_field']} 须为日期类型"]
    return []


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _as_datetime(value) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):  # a date deadline ends with that day
        return datetime(value.year, value.month, value.day, tzinfo=UTC) + timedelta(days=1)
    return None


def _text(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    return "、".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def evaluate(rule: Rule, values: Mapping, *, labels: Mapping[str, str] | None = None, now: datetime | None = None,
             created_at: datetime | None = None) -> Match | None:
    """Whether the record's values match the rule; a Match says why in Chinese. Values it cannot read
    (missing, of another type) never match: a rule raises work only on what the record says."""
    labels = labels or {}
    p = rule.params
    name = p.get("field")
    label = labels.get(name, name)
    value = values.get(name)
    why = None
    if rule.kind == "threshold":
        if _is_number(value) and OPS[p["op"]](value, p["value"]):
            why = f"{label} {value} {OP_WORDS[p['op']]} {p['value']}"
    elif rule.kind == "choice_in":
        chosen = value if isinstance(value, list | tuple) else [value]
        hit = [v for v in chosen if v in p["values"] and v is not None]
        if hit:
            why = f"{label}为{_text(hit)}"
    elif rule.kind == "line_fails":
        line_label = labels.get(f"{name}.{p['line_field']}", p["line_field"])
        failing = [i for i, line in enumerate(value or [], 1)
                   if isinstance(line, Mapping) and _line_fails(p, line.get(p["line_field"]))]
        if failing and p.get("values") is None:
            lines = value
            why = "；".join(f"{label}第{i}行{line_label} {lines[i - 1][p['line_field']]} {OP_WORDS[p['op']]} "
                           f"{p['value']}" for i in failing)
        elif failing:
            why = f"{label}第{'、'.join(map(str, failing))}行{line_label}不合格"
    elif rule.kind == "empty_past_deadline":
        why = _overdue(rule, values, label, labels, now or datetime.now(UTC), created_at)
    if why is None:
        return None
    return Match(rule=rule.code, category=rule.category, explanation=why, title=rule.title)


def _line_fails(p: Mapping, value) -> bool:
    if p.get("values") is not None:
        return value in p["values"]
    return _is_number(value) and OPS[p["op"]](value, p["value"])


def _overdue(rule: Rule, values: Mapping, label: str, labels: Mapping, now: datetime, created_at) -> str | None:
    p = rule.params
    if not _empty(values.get(p["field"])):
        return None
    if p.get("deadline_field") is not None:
        deadline = _as_datetime(values.get(p["deadline_field"]))
        where = labels.get(p["deadline_field"], p["deadline_field"])
        if deadline is not None and now >= deadline:
            return f"{label}逾期未填写（期限：{where} {values.get(p['deadline_field'])}）"
        return None
    start = _as_datetime(created_at)
    if start is not None and now >= start + timedelta(days=p["days"]):
        return f"{label}创建{p['days']}天后仍未填写"
    return None


def evaluate_all(rules, values: Mapping, **kwargs) -> list[Match]:
    """Every rule the values match, in the rules' order."""
    return [m for m in (evaluate(r, values, **kwargs) for r in rules) if m is not None]
