"""One error shape for every JSON API: {"error": {"code", "message", "message_en", ...}}.

Views raise ApiError (or a werkzeug HTTPException); the handlers registered here turn
anything raised under /api into that shape, never an HTML page or a traceback.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from marshmallow import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, PendingRollbackError
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


OUTAGE_RETRY_AFTER = 5  # seconds: a database restart or a Redis failover is usually over by then


def is_outage(err: BaseException) -> bool:
    """A server we depend on is unreachable, restarting or out of connections (not a bad request)."""
    if isinstance(err, DBAPIError):
        # A disconnect (the pool has invalidated that connection already) or OperationalError
        # (refused, terminated, shutting down); an IntegrityError or DataError is not an outage.
        return bool(err.connection_invalidated) or type(err).__name__ == "OperationalError"
    return isinstance(err, PoolTimeoutError | PendingRollbackError | RedisConnectionError | RedisTimeoutError)


def outage_response(err: BaseException):
    """503 with Retry-After: the error shape under /api, a friendly page elsewhere. Never a 500."""
    from app.extensions import db

    log.warning("dependency unavailable on %s %s: %s: %s", request.method, request.path, type(err).__name__,
                str(err).splitlines()[0] if str(err) else "")
    try:
        db.session.rollback()  # give the connection back; an invalidated one is replaced on next checkout
    except Exception:  # noqa: BLE001 - the database may still be away
        log.debug("rollback after an outage failed", exc_info=True)
    if _is_json_area():
        return error_response(ApiError(503, "service_unavailable", "服务暂时不可用，请稍后重试",
                                       "A service the server depends on is unavailable; retry shortly",
                                       retry_after=OUTAGE_RETRY_AFTER))
    layout = "h5/base.html" if request.path.startswith("/h5/") and not request.path.startswith("/h5/staff") \
        else "web/base.html"
    try:
        body = render_template("web/error.html", layout=layout, status=503, title="请稍后再试",
                               message="系统正在维护或网络繁忙，请稍后再试。您填写的内容未提交，请稍后重新提交。")
    except Exception:  # noqa: BLE001 - the page must not need what is down
        body = "系统繁忙，请稍后再试 · Service temporarily unavailable"
    return body, 503, {"Retry-After": str(OUTAGE_RETRY_AFTER)}


def _is_json_area() -> bool:
    return request.path.startswith(("/api", "/wecom", "/healthz"))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(err: ApiError):
        return error_response(err)

    @app.errorhandler(ValidationError)
    def handle_validation_error(err: ValidationError):
        return error_response(ApiError(422, fields=err.messages))

    @app.errorhandler(HTTPException)
    def handle_http_exception(err: HTTPException):
        if not _is_json_area():
            return err
        api_err = ApiError(err.code or 500)
        response = error_response(api_err)
        if err.code == 405 and getattr(err, "valid_methods", None):
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(err: Exception):
        if is_outage(err):
            return outage_response(err)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _is_json_area():
            return "服务器内部错误 Internal server error", 500
        return error_response(ApiError(500))
