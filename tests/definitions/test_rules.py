"""The rule kinds: parsed and checked against fields, evaluated to a match with a Chinese explanation."""

from datetime import UTC, datetime, timedelta

import pytest

from app.services.rules import RuleError, check_fields, evaluate, evaluate_all, parse_rule

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def rule(**data):
    return parse_rule({"code": "r", "category": "c", **data})


def test_threshold():
    r = rule(kind="threshold", field="count", op=">", value=10)
    assert evaluate(r, {"count": 10}) is None
    m = evaluate(r, {"count": 12}, labels={"count": "车辆数"})
    assert (m.rule, m.category, m.explanation) == ("r", "c", "车辆数 12 超过 10")
    assert evaluate(r, {"count": "12"}) is None and evaluate(r, {"count": True}) is None and evaluate(r, {}) is None
    assert evaluate(rule(kind="threshold", field="count", op=">=", value=10), {"count": 10}) is not None


def test_choice_in_single_and_multiple():
    r = rule(kind="choice_in", field="result", values=["fail"])
    assert evaluate(r, {"result": "pass"}) is None
    assert evaluate(r, {"result": "fail"}, labels={"result": "结论"}).explanation == "结论为fail"
    assert evaluate(r, {"result": ["pass", "fail"]}) is not None


def test_line_fails():
    r = rule(kind="line_fails", field="lines", line_field="ok", values=[False])
    assert evaluate(r, {"lines": [{"ok": True}]}) is None
    m = evaluate(r, {"lines": [{"ok": True}, {"ok": False}]}, labels={"lines": "检查项", "lines.ok": "合格"})
    assert m.explanation == "检查项第2行合格不合格"


def test_line_over_a_threshold():
    r = rule(kind="line_fails", field="rooms", line_field="occupants", op=">", value=4)
    assert evaluate(r, {"rooms": [{"occupants": 4}]}) is None
    assert evaluate(r, {"rooms": [{"occupants": 4}, {"occupants": 7}]}).explanation == "rooms第2行occupants 7 超过 4"
    with pytest.raises(RuleError):
        rule(kind="line_fails", field="rooms", line_field="occupants")


def test_empty_past_deadline():
    by_days = rule(kind="empty_past_deadline", field="fixed_on", days=3)
    assert evaluate(by_days, {}, now=NOW, created_at=NOW - timedelta(days=2)) is None
    assert evaluate(by_days, {}, now=NOW, created_at=NOW - timedelta(days=3)) is not None
    assert evaluate(by_days, {"fixed_on": "2026-12-01"}, now=NOW, created_at=NOW - timedelta(days=9)) is None
    by_field = rule(kind="empty_past_deadline", field="fixed_on", deadline_field="due")
    assert evaluate(by_field, {"due": "2026-12-04"}, now=NOW) is None        # a date's deadline ends with the day
    assert evaluate(by_field, {"due": "2026-12-03"}, now=NOW) is not None
    assert evaluate(by_field, {}, now=NOW) is None


def test_evaluate_all_keeps_order():
    rules = [rule(kind="threshold", field="n", op=">", value=1), rule(kind="threshold", field="n", op=">", value=5)]
    assert len(evaluate_all(rules, {"n": 3})) == 1 and len(evaluate_all(rules, {"n": 9})) == 2


@pytest.mark.parametrize("data, words", [
    ({"kind": "nope"}, "类型"),
    ({"kind": "threshold", "field": "n", "op": "!=", "value": 1}, "比较符"),
    ({"kind": "threshold", "field": "n", "op": ">", "value": "x"}, "阈值"),
    ({"kind": "threshold", "op": ">", "value": 1}, "field"),
    ({"kind": "empty_past_deadline", "field": "x"}, "days"),
    ({"kind": "choice_in", "field": "x", "values": "fail"}, "列表"),
])
def test_malformed_rules_are_refused_in_chinese(data, words):
    with pytest.raises(RuleError) as err:
        rule(**data)
    assert any(words in p for p in err.value.problems)


def test_check_fields():
    assert check_fields(rule(kind="threshold", field="n", op=">", value=1), {"n": "integer"}) == []
    assert "数字" in check_fields(rule(kind="threshold", field="n", op=">", value=1), {"n": "text"})[0]
    assert "不存在" in check_fields(rule(kind="choice_in", field="x", values=[1]), {})[0]
    lf = rule(kind="line_fails", field="g", line_field="ok", values=[False])
    assert check_fields(lf, {"g": "group"}, {"g": {"ok": "boolean"}}) == []
    assert check_fields(lf, {"g": "group"}, {"g": {}}) != []
    assert check_fields(rule(kind="empty_past_deadline", field="x", deadline_field="d"),
                        {"x": "text", "d": "text"}) != []
