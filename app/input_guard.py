"""Input no request may carry past the door: one rule for the whole app, before any view runs.

- No NUL character anywhere in the text a request carries (path, query, form fields, file names, JSON
  strings and keys): PostgreSQL cannot store it and nobody types it. Refused (400 invalid_characters),
  not stripped: a client that sends it has a bug it should hear about.
- JSON at most MAX_JSON_DEPTH levels deep; a document too deep for the parser is invalid JSON (400),
  never a RecursionError.
- Integers in URL paths fit the database's INTEGER (the `int` converter of the URL map is bounded):
  /work-items/99999999999999999999 is simply not found.
- Dates and times within EARLIEST_YEAR..LATEST_YEAR (parse_moment, and every value the API's schemas
  load): far enough for any real record, near enough that converting time zones never overflows.

The refusal is an ApiError, so it is rendered like every other error of its area (JSON under /api,
the friendly page under /h5, the Open311 error list under /open311).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, IntegerConverter, ValidationError

from app.errors import ApiError

DB_INT_MAX = 2**31 - 1  # PostgreSQL INTEGER, the type of every id column
MAX_JSON_DEPTH = 32
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BoundedIntConverter(IntegerConverter):
    """`<int:x>`: a non-negative integer that fits a database id; a larger one names nothing (404).

    NotFound rather than werkzeug's ValidationError: a rule that fails validation still counts as
    matching the path for other methods, and the router would answer 405 instead of 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=DB_INT_MAX, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as exc:
            raise NotFound() from exc


class DayConverter(BaseConverter):
    """`<day:x>`: an ISO date (YYYY-MM-DD) within the supported years, given to the view as a date."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value):
        try:
            day = date.fromisoformat(value)
            _check_year(day)
        except ValueError as exc:
            raise NotFound() from exc  # not ValidationError: see BoundedIntConverter
        return day

    def to_url(self, value):
        return value.isoformat() if isinstance(value, date) else str(value)


class CodeConverter(BaseConverter):
    """`<code:x>`: a code (letters, digits, underscore), so `/places/poster-batches` never reads as a code."""

    regex = r"[A-Za-z0-9_]{1,64}"


class HexConverter(BaseConverter):
    """`<hex:x>`: a random hex token (e.g. an export's id), so `/exports/sources` never reads as one."""

    regex = r"[0-9a-f]{8,64}"


#: The OpenAPI schema of each converter's path parameter.
CONVERTER_SCHEMAS = {
    BoundedIntConverter: {"type": "integer", "minimum": 0, "maximum": DB_INT_MAX},
    DayConverter: {"type": "string", "format": "date"},
    CodeConverter: {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"},
    HexConverter: {"type": "string", "pattern": "^[0-9a-f]{8,64}$"},
}


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a document nested past the parser's recursion limit is just invalid JSON."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc


def invalid_characters() -> ApiError:
    return ApiError(400, "invalid_characters", "请求中含有不允许的字符（如空字符 \\0）",
                    "The request contains a character that is not allowed (NUL)")


def _json_too_deep() -> ApiError:
    return ApiError(400, "invalid_json", f"JSON 嵌套层数不能超过 {MAX_JSON_DEPTH}",
                    f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep")


def _check_json(document) -> None:
    """Walk the document without recursion: no NUL in any string or key, no deeper than MAX_JSON_DEPTH."""
    stack = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise invalid_characters()
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _json_too_deep()
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        else:
            stack.extend((item, depth + 1) for item in value)


def _has_nul(*texts) -> bool:
    return any("\x00" in text for text in texts if text)


def check_request() -> None:
    """before_request: refuse what no view should have to think about."""
    if _has_nul(request.path) or any(_has_nul(k, *request.args.getlist(k)) for k in request.args):
        raise invalid_characters()
    if request.mimetype in _FORM_TYPES:
        try:
            form, files = request.form, request.files
        except HTTPException:
            return  # e.g. too large: the view's own handling (a friendly 413) answers it
        if any(_has_nul(k, *form.getlist(k)) for k in form) or any(
                _has_nul(k, *(f.filename for f in files.getlist(k))) for k in files):
            raise invalid_characters()
    elif request.is_json and request.content_length != 0:
        _check_json(request.get_json(silent=True))


def init_app(app: Flask) -> None:
    """Before any rule is added (the converter applies to rules made after it) and any other before_request."""
    app.url_map.converters.update(int=BoundedIntConverter, day=DayConverter, code=CodeConverter,
                                  hex=HexConverter)
    app.json = GuardedJSONProvider(app)
    app.before_request(check_request)


# --- dates and times --------------------------------------------------------------------------------

def _check_year(value: date) -> None:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"year must be within {EARLIEST_YEAR}–{LATEST_YEAR}")


def parse_moment(value: str, *, default_tz: timezone, dates: bool = True) -> date | datetime:
    """An ISO date (when `dates`) or date-time (naive ones are in default_tz), within the supported years.

    ValueError for anything else, so the caller answers in its own words (422 field error, Open311 400)."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    value = value.strip()
    if dates and len(value) == 10:
        parsed = date.fromisoformat(value)
        _check_year(parsed)
        return parsed
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    _check_year(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=default_tz)


def check_moments(data) -> None:
    """Every date/date-time a schema loaded (at any depth) lies within the supported years (else 422)."""
    stack = [((), data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, date):  # datetime is a date too
            try:
                _check_year(value)
            except ValueError as exc:
                field = ".".join(map(str, where)) or "_schema"
                raise ApiError(422, fields={field: [f"日期须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间"]}) from exc
        elif isinstance(value, dict):
            stack.extend(((*where, k), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend(((*where, i), v) for i, v in enumerate(value))

