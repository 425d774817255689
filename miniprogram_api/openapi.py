"""OpenAPI 3 for /api/v1, generated from the views' marshmallow schemas.

A view declares itself with @doc(...); build_spec() walks the URL map, so a route that
exists is documented with the very schemas that validate and serialise it.
"""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema, fields

_PATH_PARAM = re.compile(r"<(?:(?P<conv>[^:<>]+):)?(?P<name>[^<>]+)>")
_CONVERTER_TYPES = {"int": "integer", "float": "number"}


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True, metadata={"description": "中文提示"})
    message_en = fields.String(required=True)


class ErrorResponse(Schema):
    error = fields.Nested(ErrorBody, required=True)


def doc(summary: str, *, tags: tuple[str, ...] = (), query: type[Schema] | None = None,
        body: type[Schema] | None = None, response: type[Schema] | Schema | None = None,
        status: int = 200, errors: tuple[int, ...] = (), public: bool = False):
    """Describe a view for the OpenAPI document."""
    def decorate(view):
        view._openapi = {"summary": summary, "tags": tags, "query": query, "body": body,
                         "response": response, "status": status, "errors": errors, "public": public}
        return view
    return decorate


def _path_parameters(rule: str) -> list[dict]:
    return [{"in": "path", "name": m["name"], "required": True,
             "schema": {"type": _CONVERTER_TYPES.get(m["conv"] or "", "string")}}
            for m in _PATH_PARAM.finditer(rule)]


def _operation(info: dict, rule: str) -> dict:
    op: dict = {"summary": info["summary"], "tags": list(info["tags"]),
                "parameters": _path_parameters(rule), "responses": {}}
    if info["query"] is not None:
        op["parameters"].append({"in": "query", "schema": info["query"]})
    if info["body"] is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": info["body"]}}}
    ok = {"description": "OK"}
    if info["response"] is not None:
        ok["content"] = {"application/json": {"schema": info["response"]}}
    op["responses"][str(info["status"])] = ok
    error_statuses = set(info["errors"]) | {400, 422, 500}
    if not info["public"]:
        error_statuses |= {401, 403}
        op["security"] = [{"bearerAuth": []}]
    for status in sorted(error_statuses):
        op["responses"][str(status)] = {"description": "Error",
                                        "content": {"application/json": {"schema": "ErrorResponse"}}}
    return op


def build_spec(app: Flask) -> dict:
    spec = APISpec(
        title="静安「一网统管」工具箱 API (Jing'an Toolbox)", version="1.0.0", openapi_version="3.0.3",
        # Tools' schemas are named <tool code>.<name>, so two tools may both call a schema InspectionIn.
        plugins=[MarshmallowPlugin(schema_name_resolver=app.extensions["toolbox"].schema_name_resolver())],
        info={"description": "The JSON API the WeCom mini-apps call. Every error is "
                             '{"error": {"code", "message", "message_en"}}.'},
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.schema("ErrorResponse", schema=ErrorResponse)
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        info = getattr(app.view_functions[rule.endpoint], "_openapi", None)
        if info is None:
            continue
        path = _PATH_PARAM.sub(lambda m: "{" + m["name"] + "}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(info, rule.rule)
    from miniprogram_api.definitions import document_defined_tools

    document_defined_tools(spec, paths, lambda rule: _operation(app.view_functions[rule.endpoint]._openapi,
                                                                rule.rule), app)
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()
