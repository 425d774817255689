"""H5 views: small, request-facing; the rules live in toolbox.citizen_report.services."""

from __future__ import annotations

import logging
import secrets

from flask import Response, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import ApiError
from app.extensions import db
from app.models.attachment import Attachment
from app.registry import current_registry
from app.services import media, ratelimit
from app.services.crypto import blind_index
from app.services.places import get_place
from app.web.filters import local_dt
from h5 import bp
from toolbox.citizen_report import services

log = logging.getLogger(__name__)


def _svc():
    return services


def _likeliest_category(place) -> str:
    """Preselected on the form: the first category the place's kind offers, when the kind names any."""
    kind = current_registry().place_kinds.get(place.kind)
    return kind.citizen_categories[0] if kind is not None and kind.citizen_categories else ""


def _client() -> str:
    return request.remote_addr or "unknown"


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _limit() -> tuple[int, int]:
    count, _, window = current_app.config["CITIZEN_RATE_LIMIT"].partition("/")
    return int(count), int(window or 600)


def _not_found(kind: str = "code", status: int = 404, **extra):
    return render_template("h5/not_found.html", kind=kind, **extra), status


def _form_page(place, values: dict, errors: dict | None = None, message: str | None = None, status: int = 200):
    if _wants_json():
        body = {"ok": False, "errors": errors or {}, "message": message or "提交未成功，请检查后重试"}
        return current_app.response_class(current_app.json.dumps(body), status=status, mimetype="application/json")
    return render_template("h5/report.html", place=place, values=values, errors=errors or {}, message=message,
                           categories=_svc().categories(place), max_photos=_svc().MAX_PHOTOS,
                           privacy_version=current_app.config["CITIZEN_PRIVACY_NOTICE_VERSION"],
                           max_photo_mb=current_app.config["PHOTO_MAX_BYTES"] // (1024 * 1024)), status


def _go(url: str):
    if _wants_json():
        return {"ok": True, "redirect": url}
    return redirect(url, code=303)


@bp.after_request
def _headers(response):
    """No third-party anything; tracking pages (the URL is the citizen's credential) are never cached or
    leaked through a Referer."""
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; "
                                "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.endpoint in ("h5.tracking", "h5.report_form", "h5.submit_report"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/c/<code>")
def report_form(code: str):
    """The place and the report form."""
    place = get_place(code)
    if place is None:
        return _not_found()
    if not place.active:
        return _not_found("disabled", place=place)
    values = {"idempotency_key": secrets.token_urlsafe(24),
              "category": request.args.get("category") or _likeliest_category(place)}
    return _form_page(place, values)


@bp.post("/c/<code>")
def submit_report(code: str):
    """File a report: honeypot, idempotency, rate limit, validation, duplicates, then a tracking code."""
    place = get_place(code)
    if place is None or not place.active:
        return _not_found("disabled" if place else "code", place=place)
    try:
        form, files = request.form, request.files.getlist("photos")
    except RequestEntityTooLarge:
        return _form_page(place, {"idempotency_key": secrets.token_urlsafe(24)},
                          {"photos": "照片总大小超出限制，请减少或压缩照片"}, status=413)
    values = {k: form.get(k, "") for k in ("category", "description", "mobile", "idempotency_key")}
    values["privacy"] = form.get("privacy") == "on"
    if not values["idempotency_key"]:
        values["idempotency_key"] = secrets.token_urlsafe(24)
    if form.get("website"):  # the honeypot: people never see this field, form-filling bots do
        log.info("honeypot tripped at place %s from %s", place.code, _client())
        return _go(url_for("h5.received"))
    svc = _svc()
    earlier = svc.get_by_idempotency_key(values["idempotency_key"])
    if earlier is not None:  # a retried submission: the same report, no new one, no rate-limit charge
        return _go(url_for("h5.tracking", tracking=earlier.tracking_code, new=1))
    # Only a filed report counts against the limit: a refused one (too short, a bad photo) does not.
    limit_key, (limit, window) = f"citizen:submit:{_client()}", _limit()
    used, retry_after = ratelimit.peek(limit_key, window)
    if used >= limit:
        page, status = _form_page(place, values, message="提交过于频繁，请稍后再试", status=429)
        response = current_app.make_response((page, status))
        response.headers["Retry-After"] = str(retry_after)
        return response
    sub = svc.Submission(category=values["category"], description=values["description"], mobile=values["mobile"],
                         privacy_accepted=values["privacy"], idempotency_key=values["idempotency_key"],
                         photos=[f for f in files if f and f.filename], source="h5")
    try:
        result = svc.file_report(place, sub, client_hash=blind_index(_client()))
    except ApiError as err:
        db.session.rollback()
        errors = err.details.get("fields") if isinstance(err.details.get("fields"), dict) else None
        return _form_page(place, values, errors or {"photos": err.message}, message=err.message,
                          status=err.status)
    ratelimit.hit(limit_key, limit, window)
    return _go(url_for("h5.tracking", tracking=result.report.tracking_code, new=1))


@bp.get("/received")
def received():
    """What a honeypot-tripping client sees (nothing was filed)."""
    return render_template("h5/received.html")


@bp.get("/t")
def tracking_lookup():
    """Type a tracking code to find a report."""
    code = request.args.get("code", "")
    if code:
        return redirect(url_for("h5.tracking", tracking=_svc().normalise_tracking(code)), code=303)
    return render_template("h5/lookup.html")


def _tracking_page(report, *, error: str | None = None, status: int = 200):
    svc = _svc()
    if report.status == "draft":
        original = report.joined_report
        return render_template("h5/duplicate.html", report=report,
                               original=svc.duplicate_view(original) if original else None, error=error), status
    return render_template("h5/tracking.html", report=report, view=svc.tracking_view(report), error=error,
                           ratings=svc.RATINGS, is_new=request.args.get("new") == "1"), status


def _report_or_404(tracking: str):
    return _svc().get_by_tracking(tracking)


@bp.get("/t/<tracking>")
def tracking(tracking: str):
    """Status, public timeline and released photos of one report."""
    report = _report_or_404(tracking)
    if report is None:
        return _not_found("tracking")
    return _tracking_page(report)


def _tracking_action(tracking: str, action):
    report = _report_or_404(tracking)
    if report is None:
        return _not_found("tracking")
    try:
        ratelimit.enforce(f"citizen:action:{_client()}", 30, 600)
        action(report)
    except ApiError as err:
        db.session.rollback()
        return _tracking_page(report, error=err.message, status=err.status)
    return redirect(url_for("h5.tracking", tracking=report.tracking_code), code=303)


@bp.post("/t/<tracking>/decide")
def decide(tracking: str):
    """Join the open report at this place, or file mine as a new one."""
    return _tracking_action(tracking, lambda r: _svc().decide(r, join=request.form.get("decision") == "join"))


@bp.post("/t/<tracking>/rate")
def rate(tracking: str):
    """满意 / 基本满意 / 不满意, once the problem is handled."""
    return _tracking_action(tracking, lambda r: _svc().rate(r, request.form.get("rating", ""),
                                                            request.form.get("comment")))


@bp.post("/t/<tracking>/reopen")
def reopen(tracking: str):
    """Not fixed: reopen within the window."""
    return _tracking_action(tracking, lambda r: _svc().reopen(r, request.form.get("reason", "")))


@bp.get("/photos/<token>.jpg")
def public_photo(token: str):
    """A released photo (EXIF-free, redactions applied); anything else is 404."""
    from sqlalchemy import select

    att = db.session.execute(select(Attachment).where(Attachment.public_token == token)).scalar_one_or_none()
    if att is None or not att.released or not att.is_ready or not media.exists(att.display_key):
        return _not_found("photo")
    response = Response(media.read(att.display_key), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=600"
    return response


@bp.app_template_filter("local_time")
def local_time(value) -> str:
    """'2026-11-25 09:30' in Shanghai time, from a datetime or an ISO string."""
    return local_dt(value)
