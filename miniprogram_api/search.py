"""One-click query (一键查询): GET /api/v1/query, every tool's records within the caller's scope."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import jsonify
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from app.api import PageArgs, parse_args
from app.auth import current_user, roles_required
from app.errors import ApiError
from app.input_guard import parse_moment
from app.services.scope import ensure_in_scope
from app.services.search import MAX_QUERY_CHARS, SEARCH_ROLES, SearchFilters, search
from app.views import filter_unit
from miniprogram_api import bp
from miniprogram_api.openapi import doc
from miniprogram_api.schemas import OrgUnitSummary

#: Dates without a time are days in Shanghai (UTC+8, no daylight saving).
LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class DayOrTime(fields.Field):
    """An ISO date (a whole local day) or an ISO date-time (naive = Shanghai time)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_moment(value, default_tz=LOCAL_TZ)
        except ValueError as err:
            raise ValidationError("Not a valid ISO date or date-time (years 1900–2199).") from err


class QueryArgs(PageArgs):
    q = fields.String(required=True, metadata={
        "description": f"地址片段、名称、工单编号…  1–{MAX_QUERY_CHARS} characters", "example": "共和新路1234"})
    tool = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": "tool code"})
    status = fields.String(validate=validate.Length(min=1, max=32), metadata={
        "description": "a status code (the `value` of a status facet), the same across tools", "example": "handling"})
    org = fields.String(validate=validate.Length(min=1, max=32),
                        metadata={"description": "org unit code: only its subtree (must be in your scope)"})
    from_ = DayOrTime(data_key="from", metadata={"description": "updated on/after (date or date-time)"})
    to = DayOrTime(metadata={"description": "updated on/before (a date includes that whole day)"})
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))

    @pre_load
    def _q_missing_is_empty(self, data, **kwargs):
        """q is required (the document says so); a missing one is answered like an empty one: query_required."""
        return {"q": "", **data}


class QueryResultOut(Schema):
    tool = fields.String(metadata={"example": "construction_sites"})
    tool_name = fields.String()
    type = fields.String(metadata={"example": "site"})
    id = fields.String()
    title = fields.String()
    snippet = fields.String(metadata={"description": "HTML-escaped text with matches in <em>…</em>",
                                      "example": "<em>共和新路</em>1234号"})
    matched_in = fields.String(validate=validate.OneOf(["title", "address", "text"]))
    status = fields.String(metadata={"description": "a status code of the one vocabulary (the facet names it)",
                                     "example": "handling"})
    status_name = fields.String(metadata={"example": "处置中"})
    org_unit = fields.Nested(OrgUnitSummary)
    updated_at = fields.DateTime()


class FacetOut(Schema):
    value = fields.String()
    name = fields.String()
    count = fields.Integer()


class FacetsOut(Schema):
    tool = fields.List(fields.Nested(FacetOut))
    status = fields.List(fields.Nested(FacetOut))


class QueryPage(Schema):
    query = fields.String()
    terms = fields.List(fields.String())
    items = fields.List(fields.Nested(QueryResultOut))
    total = fields.Integer(metadata={"description": "exact up to 1000 matches; 1000 with total_capped above"})
    total_capped = fields.Boolean(metadata={"description": "more than 1000 matches: show total_text (1000+)"})
    total_text = fields.String(metadata={"example": "1000+"})
    facets_capped = fields.Boolean(metadata={"description": "facet counts are lower bounds (above 1000 matches)"})
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
    facets = fields.Nested(FacetsOut)


def _bound(value, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value + (timedelta(microseconds=1) if end else timedelta(0))
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


_query_args = QueryArgs()  # built once per process (a schema copies its fields when built)


@bp.get("/query")
@doc("One-click query: every tool's records matching q, within my data scope", tags=("query",),
     query=QueryArgs, response=QueryPage, errors=(403, 404))
@roles_required(*SEARCH_ROLES)
def query():
    """Search sites, buildings, inspections, flood points, reports and work items in my scope."""
    args = parse_args(_query_args)
    user = current_user()
    filters = SearchFilters(tool=args.get("tool"), status=args.get("status"),
                            since=_bound(args.get("from_"), end=False), until=_bound(args.get("to"), end=True))
    if filters.since and filters.until and filters.since >= filters.until:
        raise ApiError(400, "invalid_query", "开始时间不能晚于结束时间", "'from' must be before 'to'",
                       fields={"from": ["must be before 'to'"]})
    if "org" in args:
        unit = filter_unit(args["org"])
        ensure_in_scope(user, unit.path, *SEARCH_ROLES)
        filters.org_path = unit.path
    return jsonify(search(user, args["q"], filters, page=args["page"], per_page=args["per_page"]))
