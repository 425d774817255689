"""Open311 GeoReport v2 at /open311/v2/: services, service definitions, requests, tokens — JSON and XML.

Follows the GeoReport v2 specification: field names, `open`/`closed` status, W3C date-times
with a zone, errors as a list of {code, description}. Requests are citizen reports; a POST
(api_key required) files one and it becomes a work item like any H5 report. `address_id` is a
Jing'an code (a place); without one, lat/long must lie within OPEN311_MATCH_METRES of a place.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, json, request
from sqlalchemy import select

from app.toolkit import (
    DB_INT_MAX,
    ApiError,
    Place,
    WorkItem,
    audit,
    blind_index,
    db,
    get_place,
    parse_moment,
    ratelimit,
    register_error_area,
    utcnow,
)
from toolbox.citizen_report.manifest import MANIFEST, SERVICE_DETAILS
from toolbox.citizen_report.models import CitizenReport, Open311ApiKey, ReportStatus
from toolbox.citizen_report.services import Submission, file_report, public_photos, work_item_of

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
MATCH_METRES = 300
JURISDICTIONS = ("jingan", "jingan.sh.cn")


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


# --- output -----------------------------------------------------------------------------------

# What XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/U+FFFF): one citizen's
# stray \x01 must not make the feed unreadable for every client.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    return _NOT_XML.sub("", str(value))


def _xml_value(parent: ET.Element, key: str, value) -> None:
    el = ET.SubElement(parent, key)
    if isinstance(value, list):
        child_tag = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
                     "formats": "format"}.get(key, "item")
        for entry in value:
            if isinstance(entry, dict):
                _xml_dict(ET.SubElement(el, child_tag), entry)
            else:
                _xml_value(el, child_tag, entry)
    elif isinstance(value, dict):
        _xml_dict(el, value)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = xml_text(value)


def _xml_dict(el: ET.Element, data: dict) -> None:
    for key, value in data.items():
        _xml_value(el, key, value)


def render(fmt: str, payload, *, root: str, item: str | None = None, status: int = 200) -> Response:
    if fmt == "xml":
        top = ET.Element(root)
        if item is None:
            _xml_dict(top, payload)
        else:
            for entry in payload:
                _xml_dict(ET.SubElement(top, item), entry)
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")
        return Response(body, status=status, content_type=FORMATS["xml"])
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status=status, content_type=FORMATS["json"])


def _format() -> str:
    """The format the client asked for: the route's <fmt>, else the path's suffix (a URL no rule matched)."""
    fmt = request.view_args.get("fmt") if request.view_args else request.path.rpartition(".")[2]
    return fmt if fmt in FORMATS else "json"


def _error_list(status: int, description: str) -> Response:
    return render(_format(), [{"code": status, "description": description}], root="errors", item="error",
                  status=status)


@bp.errorhandler(Open311Error)
def _open311_error(err: Open311Error):
    return _error_list(err.status, err.description)


def _area_error(err: ApiError) -> Response:
    """Every other error under /open311/ (the router's 404/405, the input guard, an internal error): the
    spec's error list too, never a page."""
    description = err.message_en
    fields = err.details.get("fields")
    if isinstance(fields, dict) and fields:
        description += ": " + "; ".join(f"{k}: {v}" for k, v in fields.items())
    response = _error_list(err.status if err.status != 422 else 400, description)
    if err.status == 429 and "retry_after" in err.details:
        response.headers["Retry-After"] = str(err.details["retry_after"])
    return response


bp.record_once(lambda state: register_error_area(state.app, bp.url_prefix + "/", _area_error))


# --- helpers ----------------------------------------------------------------------------------

def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(400, f"Unsupported format '{fmt}': use json or xml")
    return fmt


def _check_jurisdiction() -> None:
    jurisdiction = request.values.get("jurisdiction_id")
    allowed = current_app.config.get("OPEN311_JURISDICTIONS") or JURISDICTIONS
    if jurisdiction and jurisdiction not in allowed:
        raise Open311Error(404, f"jurisdiction_id '{jurisdiction}' not found")


def _client_limit(kind: str, limit: int) -> None:
    try:
        ratelimit.enforce(f"open311:{kind}:{request.remote_addr}", limit, 60)
    except ApiError as err:
        raise Open311Error(429, "Too many requests; retry later") from err


def _w3c(at: datetime | None) -> str | None:
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_w3c(value: str, name: str) -> datetime:
    try:  # a "+" in a query string arrives as a space
        return parse_moment(value.replace(" ", "+"), default_tz=UTC, dates=False)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a W3C date-time between the years 1900 and 2199, "
                                "e.g. 2026-11-05T08:15:30+08:00") from exc


def service(cat) -> dict:
    description, keywords, group = SERVICE_DETAILS.get(cat.code, ("", "", ""))
    return {"service_code": cat.code, "service_name": cat.name, "description": description, "metadata": False,
            "type": "realtime", "keywords": keywords, "group": group}


def _category(code: str):
    return next((c for c in MANIFEST.categories if c.code == code), None)


def service_request(report: CitizenReport) -> dict:
    item = work_item_of(report)
    closed = item is not None and item.state == "closed"
    cat = _category(report.category)
    photos = public_photos(report)
    base = current_app.config["PUBLIC_BASE_URL"]
    notes = None
    if item is not None and item.state in ("visiting", "closed") and item.result:
        notes = item.result
    return {
        "service_request_id": str(report.id),
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": cat.name if cat else report.category,
        "service_code": report.category,
        "description": report.description,
        "agency_responsible": item.org_unit.name if item is not None else None,
        "service_notice": f"工单 {item.number}" if item is not None else None,
        "requested_datetime": _w3c(report.created_at),
        "updated_datetime": _w3c(max(filter(None, [report.updated_at, item.updated_at if item else None]))),
        "expected_datetime": _w3c(item.close_due_at) if item is not None and not closed else None,
        "address": report.address,
        "address_id": report.place.code if report.place else None,
        "zipcode": None,
        "lat": report.lat,
        "long": report.lng,
        "media_url": (base + photos[0]["url"]) if photos else None,
    }


def _public_reports():
    return select(CitizenReport).where(CitizenReport.status.in_([ReportStatus.FILED, ReportStatus.JOINED]))


def issue_api_key(name: str, actor) -> tuple[str, Open311ApiKey]:
    key = "o311_" + secrets.token_urlsafe(24)
    row = Open311ApiKey(name=name, key_hash=hashlib.sha256(key.encode()).hexdigest(), key_prefix=key[:8],
                        active=True, created_by=getattr(actor, "wecom_userid", str(actor)))
    db.session.add(row)
    db.session.flush()
    audit.record("open311.key_issue", target_type="open311_key", target_id=row.id, detail={"name": name},
                 actor=actor)
    db.session.commit()
    return key, row


def _api_key() -> Open311ApiKey:
    key = request.values.get("api_key", "")
    row = None
    if key:
        row = db.session.execute(select(Open311ApiKey).where(
            Open311ApiKey.key_hash == hashlib.sha256(key.encode()).hexdigest())).scalar_one_or_none()
    if row is None or not row.active:
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    return row


def _distance_m(lat1, lng1, lat2, lng2) -> float:
    r = 6_371_000
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _place_for(address_id: str | None, lat: float | None, lng: float | None) -> Place:
    if address_id:
        place = get_place(address_id, active_only=True)
        if place is None:
            raise Open311Error(400, f"address_id '{address_id}' is not an active Jing'an code")
        return place
    if lat is None or lng is None:
        raise Open311Error(400, "A location is required: address_id (a Jing'an code), or lat and long")
    limit = current_app.config.get("OPEN311_MATCH_METRES", MATCH_METRES)
    # Coarse box first (about limit metres), exact distance after.
    box = limit / 111_000 * 1.5
    candidates = db.session.execute(select(Place).where(
        Place.active.is_(True), Place.lat.between(lat - box, lat + box),
        Place.lng.between(lng - box * 1.2, lng + box * 1.2))).scalars().all()
    best = min(candidates, key=lambda p: _distance_m(lat, lng, p.lat, p.lng), default=None)
    if best is None or _distance_m(lat, lng, best.lat, best.lng) > limit:
        raise Open311Error(400, f"No Jing'an code within {limit} m of lat/long; send address_id")
    return best


def _float(name: str) -> float | None:
    value = request.values.get(name)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a number") from exc


# --- endpoints -----------------------------------------------------------------------------------

@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    """Open311 Service Discovery: where this GeoReport v2 endpoint lives and what it speaks."""
    _check_format(fmt)
    base = current_app.config["PUBLIC_BASE_URL"]
    payload = {
        "changeset": "2026-11-25T00:00:00Z", "contact": "静安区城市运行管理中心（12345 市民服务热线）",
        "key_service": "api_key: ask the 静安区城运中心 system admin",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": f"{base}/open311/v2",
                       "changeset": "2026-11-25T00:00:00Z", "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }
    return render(fmt, payload, root="discovery")


@bp.get("/services.<fmt>")
def services(fmt: str):
    """GET Service List."""
    _check_format(fmt)
    _check_jurisdiction()
    return render(fmt, [service(c) for c in MANIFEST.categories], root="services", item="service")


@bp.get("/services/<service_code>.<fmt>")
def service_definition(service_code: str, fmt: str):
    """GET Service Definition: we ask for no extra attributes."""
    _check_format(fmt)
    _check_jurisdiction()
    if _category(service_code) is None:
        raise Open311Error(404, f"service_code '{service_code}' not found")
    return render(fmt, {"service_code": service_code, "attributes": []}, root="service_definition")


@bp.get("/requests.<fmt>")
def get_requests(fmt: str):
    """GET Service Requests, with the spec's filters (default: the last 90 days, at most 1000)."""
    _check_format(fmt)
    _check_jurisdiction()
    _client_limit("read", 300)
    stmt = _public_reports()
    ids = request.args.get("service_request_id")
    if ids:  # the spec: other parameters are ignored
        wanted = [int(i) for i in ids.split(",") if i.strip().isdigit() and int(i) <= DB_INT_MAX]
        stmt = stmt.where(CitizenReport.id.in_(wanted or [-1]))
        rows = db.session.execute(stmt.order_by(CitizenReport.id)).scalars().all()
        return render(fmt, [service_request(r) for r in rows], root="service_requests", item="request")
    codes = [c.strip() for c in request.args.get("service_code", "").split(",") if c.strip()]
    if codes:
        stmt = stmt.where(CitizenReport.category.in_(codes))
    end = _parse_w3c(request.args["end_date"], "end_date") if request.args.get("end_date") else None
    start = _parse_w3c(request.args["start_date"], "start_date") if request.args.get("start_date") else None
    if start is None and end is None:
        start = utcnow() - timedelta(days=DEFAULT_DAYS)
    if start is not None:
        stmt = stmt.where(CitizenReport.created_at >= start)
    if end is not None:
        stmt = stmt.where(CitizenReport.created_at <= end)
    statuses = {s.strip() for s in request.args.get("status", "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status must be open, closed, or both (comma-separated)")
    if statuses and statuses != {"open", "closed"}:
        stmt = stmt.join(WorkItem, WorkItem.id == CitizenReport.work_item_id)
        stmt = stmt.where(WorkItem.state == "closed") if statuses == {"closed"} else \
            stmt.where(WorkItem.state != "closed")
    rows = db.session.execute(stmt.order_by(CitizenReport.created_at.desc()).limit(MAX_RESULTS)).scalars().all()
    return render(fmt, [service_request(r) for r in rows], root="service_requests", item="request")


@bp.get("/requests/<int:request_id>.<fmt>")
def get_request(request_id: int, fmt: str):
    """GET Service Request."""
    _check_format(fmt)
    _check_jurisdiction()
    report = db.session.execute(_public_reports().where(CitizenReport.id == request_id)).scalar_one_or_none()
    if report is None:
        raise Open311Error(404, f"service_request_id '{request_id}' not found")
    return render(fmt, [service_request(report)], root="service_requests", item="request")


@bp.get("/tokens/<token>.<fmt>")
def get_token(token: str, fmt: str):
    """GET service_request_id from a token."""
    _check_format(fmt)
    _check_jurisdiction()
    report = db.session.execute(select(CitizenReport).where(CitizenReport.open311_token == token)) \
        .scalar_one_or_none()
    if report is None:
        raise Open311Error(404, f"token '{token}' not found")
    return render(fmt, [{"service_request_id": str(report.id), "token": token}], root="service_requests",
                  item="request")


@bp.post("/requests.<fmt>")
def post_request(fmt: str):
    """POST Service Request (api_key required): files a citizen report, which becomes a work item."""
    _check_format(fmt)
    _check_jurisdiction()
    key = _api_key()
    try:
        ratelimit.enforce(f"open311:post:{key.id}", current_app.config.get("OPEN311_POSTS_PER_MINUTE", 30), 60)
    except ApiError as err:
        raise Open311Error(429, "Too many requests for this api_key; retry later") from err
    form = request.values
    service_code = form.get("service_code", "")
    if _category(service_code) is None:
        raise Open311Error(400 if not service_code else 404,
                           "service_code is required" if not service_code else
                           f"service_code '{service_code}' not found")
    lat, lng = _float("lat"), _float("long")
    place = _place_for(form.get("address_id"), lat, lng)
    name = " ".join(x for x in (form.get("last_name"), form.get("first_name")) if x) or None
    media_url = form.get("media_url") or None
    if media_url and not media_url.startswith(("http://", "https://")):
        raise Open311Error(400, "media_url must be an http(s) URL")
    sub = Submission(
        category=service_code, description=form.get("description", ""), mobile=form.get("phone"),
        reporter_name=name, email=form.get("email") or None, media_url=media_url, source="open311",
        photos=[f for f in request.files.getlist("media")][:3], lat=lat, lng=lng,
        address=form.get("address_string") or None, idempotency_key=None,
    )
    try:
        result = file_report(place, sub, client_hash=blind_index(request.remote_addr or ""),
                             check_duplicates=False, api_key_id=key.id)
    except ApiError:
        db.session.rollback()
        raise
    key.last_used_at = utcnow()
    db.session.commit()
    report = result.report
    item = work_item_of(report)
    body = [{"service_request_id": str(report.id), "token": report.open311_token,
             "service_notice": f"已受理，工单号 {item.number}" if item else "已受理",
             "account_id": None}]
    return render(fmt, body, root="service_requests", item="request", status=201)
