"""/api/v1/stats: assessment indicators per unit and period (issue 17), within the caller's scope."""

from __future__ import annotations

from flask import jsonify, request
from marshmallow import Schema, fields

from app.auth import current_user
from app.services.assessment import query
from miniprogram_api import bp
from miniprogram_api.openapi import doc


class IndicatorQuery(Schema):
    group = fields.String(metadata={"description": "street | grid | department | tool | category (default street)"})
    from_ = fields.String(data_key="from", metadata={"description": "YYYY-MM-DD (Beijing), default 30 days ago"})
    to = fields.String(metadata={"description": "YYYY-MM-DD (Beijing), default today"})
    unit = fields.String(metadata={"description": "only inside this unit (code): e.g. the grids of one street"})
    tool, category = fields.String(), fields.String()
    preset = fields.String(metadata={"description": "score weights: three_rates (三率 30/35/35) | timeliness"})
    weights = fields.String(metadata={"description": "custom score weights: code:weight,code:weight"})


class IndicatorDef(Schema):
    code, name, kind, definition = fields.String(), fields.String(), fields.String(), fields.String()
    numerator = fields.String()
    denominator = fields.String(allow_none=True)
    clock, exclusions, period_rule = fields.String(), fields.String(), fields.String()
    higher_is_better = fields.Boolean()


class Figure(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "% for rates, working days for averages"})
    numerator = fields.Integer(allow_none=True)
    denominator = fields.Integer(allow_none=True)


class IndicatorRow(Schema):
    unit = fields.Dict(metadata={"description": "{code, name}"})
    sample = fields.Integer(metadata={"description": "受理量 in the period"})
    ranked = fields.Boolean(metadata={"description": "false below the minimum sample: shown, not ranked"})
    rank = fields.Integer(allow_none=True)
    values = fields.Dict(keys=fields.String(), values=fields.Nested(Figure))


class IndicatorTable(Schema):
    group = fields.String()
    period = fields.Dict()
    min_sample = fields.Integer()
    score = fields.Dict()
    indicators = fields.List(fields.Nested(IndicatorDef))
    rows = fields.List(fields.Nested(IndicatorRow))


@bp.get("/stats/indicators")
@doc("Assessment indicators per street, grid, department, tool or category over a period (考核指标)",
     tags=("stats",), query=IndicatorQuery, response=IndicatorTable, errors=(403, 422))
def stats_indicators():
    """Each indicator's value, numerator and denominator per unit; 422 names valid values, 403 outside scope."""
    return jsonify(query.indicators(current_user(), request.args))


class DefinitionsOut(Schema):
    indicators = fields.List(fields.Nested(IndicatorDef))
    presets = fields.Dict()


@bp.get("/stats/indicators/definitions")
@doc("The indicator dictionary and the score presets", tags=("stats",), response=DefinitionsOut)
def stats_definitions():
    """What every indicator counts (the same text as docs/assessment.md)."""
    from app.services.assessment.indicators import INDICATORS, SCORE, SCORE_PRESETS

    current_user()
    return jsonify({"indicators": [i.to_dict() for i in (*INDICATORS.values(), SCORE)],
                    "presets": {p.code: {"name": p.name, "weights": p.weights} for p in SCORE_PRESETS.values()}})
