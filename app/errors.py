"""One error shape for every JSON API: {"error": {"code", "message", "message_en", ...}}.

Views raise ApiError (or a werkzeug HTTPException); the handlers registered here turn
anything raised under /api into that shape, never an HTML page or a traceback. Pages get the
friendly error page, and an area with an error format of its own (Open311's error list) registers
a renderer for its URL prefix (register_error_area), so even a URL no rule matches answers in it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, jsonify, request
from marshmallow import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Default bilingual messages per HTTP status, used when a view gives none.
STATUS_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式有误", "The request is malformed"),
    401: ("unauthenticated", "请先登录", "Authentication required"),
    403: ("forbidden", "无权执行此操作", "You are not allowed to do this"),
    404: ("not_found", "资源不存在", "Not found"),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
    409: ("conflict", "操作与当前状态冲突", "The request conflicts with the current state"),
    413: ("payload_too_large", "上传内容过大", "The request body is too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "Unsupported media type"),
    422: ("validation_error", "提交的内容未通过校验", "The submitted data is invalid"),
    429: ("rate_limited", "请求过于频繁，请稍后再试", "Too many requests, try again later"),
    500: ("internal_error", "服务器内部错误，请稍后再试", "Internal server error"),
    503: ("unavailable", "服务暂不可用", "Service unavailable"),
}


class ApiError(Exception):
    """An error a client can act on: HTTP status, stable code, Chinese and English message."""

    def __init__(self, status: int, code: str | None = None, message: str | None = None,
                 message_en: str | None = None, **details):
        default_code, default_zh, default_en = STATUS_MESSAGES.get(status, STATUS_MESSAGES[500])
        self.status = status
        self.code = code or default_code
        self.message = message or default_zh
        self.message_en = message_en or default_en
        self.details = details
        super().__init__(f"{self.code}: {self.message_en}")

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message, "message_en": self.message_en}
        body.update(self.details)
        return {"error": body}


def error_response(err: ApiError):
    response = jsonify(err.to_dict())
    response.status_code = err.status
    if err.status in (429, 503) and "retry_after" in err.details:
        response.headers["Retry-After"] = str(err.details["retry_after"])
    return response


def _is_json_area() -> bool:
    return request.path.startswith(("/api", "/wecom", "/healthz"))


def register_error_area(app: Flask, prefix: str, render: Callable[[ApiError], object]) -> None:
    """Errors of every request under prefix (raised by a view, the router or the input guard) are
    answered by render(err) instead of the JSON shape or the friendly page."""
    app.extensions.setdefault("error_areas", []).append((prefix, render))


def _friendly_page(err: ApiError):
    from app.web.session import page_error  # the page layer renders it with the shared page frame

    titles = {404: "页面不存在", 405: "无法打开", 413: "内容过大", 429: "请稍后再试", 500: "出错了", 503: "请稍后再试"}
    return page_error(err.status, err.message, title=titles.get(err.status, "无法打开"))


def render_error(err: ApiError):
    """The error in the format of the area the request is in."""
    for prefix, render in current_app.extensions.get("error_areas", ()):
        if request.path.startswith(prefix):
            return render(err)
    if _is_json_area():
        return error_response(err)
    try:
        return _friendly_page(err)
    except Exception:  # noqa: BLE001 - the page itself failed: a plain answer rather than none
        log.exception("error page failed")
        return err.message, err.status


OUTAGE_RETRY_AFTER = 5  # seconds: a database restart or a Redis failover is usually over by then


def is_outage(err: BaseException) -> bool:
    """A server we depend on is unreachable, restarting or out of connections (not a bad request)."""
    if isinstance(err, DBAPIError):
        # A disconnect (the pool has invalidated that connection already) or OperationalError
        # (refused, terminated, shutting down); an IntegrityError or DataError is not an outage.
        return bool(err.connection_invalidated) or type(err).__name__ == "OperationalError"
    return isinstance(err, PoolTimeoutError | RedisConnectionError | RedisTimeoutError)


def outage_response(err: BaseException):
    """503 with Retry-After in the request's area format (JSON shape, friendly page, …). Never a 500."""
    from app.extensions import db

    log.warning("dependency unavailable on %s %s: %s: %s", request.method, request.path, type(err).__name__,
                str(err).splitlines()[0] if str(err) else "")
    try:
        db.session.rollback()  # give the connection back; an invalidated one is replaced on next checkout
    except Exception:  # noqa: BLE001 - the database may still be away
        log.debug("rollback after an outage failed", exc_info=True)
    response = current_app.make_response(render_error(ApiError(
        503, "service_unavailable", "服务暂时不可用，请稍后再试", "A service the server depends on is unavailable; "
        "retry shortly", retry_after=OUTAGE_RETRY_AFTER)))
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


def _bad_value(err: Exception) -> ApiError:
    """A value the database (or Python's date arithmetic) cannot hold got past validation."""
    from app.extensions import db

    db.session.rollback()
    log.warning("value out of range on %s %s: %s", request.method, request.path, err)
    return ApiError(400, "invalid_value", "提交的值超出允许范围", "A value is out of the allowed range")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(err: ApiError):
        return render_error(err)

    @app.errorhandler(ValidationError)
    def handle_validation_error(err: ValidationError):
        return render_error(ApiError(422, fields=err.messages))

    @app.errorhandler(HTTPException)
    def handle_http_exception(err: HTTPException):
        response = render_error(ApiError(err.code or 500))
        if err.code == 405 and getattr(err, "valid_methods", None):
            response = current_app.make_response(response)
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def handle_out_of_range(err: Exception):
        return render_error(_bad_value(err))

    @app.errorhandler(Exception)
    def handle_unexpected(err: Exception):
        if is_outage(err):
            return outage_response(err)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(ApiError(500))
