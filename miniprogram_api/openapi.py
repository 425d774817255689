"""OpenAPI 3 for /api/v1, generated from the views' marshmallow schemas.

A view declares itself with @doc(...); build_spec() walks the URL map, so a route that
exists is documented with the very schemas that validate and serialise it. What the server
enforces everywhere is stated here once, not per view:

- every operation has a stable operationId: the view's name in camelCase (`listWorkItems`), prefixed
  with its tool's code for a tool's view (`constructionSitesListSites`), unless @doc names one;
- path parameters carry their converter's bounds (ids fit the database, days are dates, codes a pattern),
  and an operation with path parameters may answer 404;
- a request body whose schema refuses unknown fields (marshmallow's default) says
  `additionalProperties: false`, nested schemas too;
- every operation may answer 400 (malformed input, NUL characters), 422 and 500; a protected one 401/403.
"""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from marshmallow import RAISE, Schema, fields

_PATH_PARAM = re.compile(r"<(?:(?P<conv>[^:<>]+):)?(?P<name>[^<>]+)>")
_REF = "#/components/schemas/"


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True, metadata={"description": "中文提示"})
    message_en = fields.String(required=True)


class ErrorResponse(Schema):
    error = fields.Nested(ErrorBody, required=True)


def doc(summary: str, *, tags: tuple[str, ...] = (), query: type[Schema] | None = None,
        body: type[Schema] | None = None, form: type[Schema] | None = None,
        response: type[Schema] | Schema | None = None, content_type: str = "application/json",
        status: int = 200, statuses: tuple[int, ...] = (), errors: tuple[int, ...] = (), public: bool = False,
        operation_id: str | None = None):
    """Describe a view for the OpenAPI document.

    body: a JSON request body; form: a multipart/form-data body (a file is `fields.Raw(metadata=BINARY)`).
    response: the schema of the `status` answer (content_type, e.g. image/png for a picture);
    statuses: other success statuses it may answer with the same body (e.g. 202); errors: error statuses
    beyond the ones every operation has.
    """
    def decorate(view):
        view._openapi = {"summary": summary, "tags": tags, "query": query, "body": body, "form": form,
                         "response": response, "content_type": content_type, "status": status,
                         "statuses": statuses, "errors": errors, "public": public, "operation_id": operation_id}
        return view
    return decorate


#: metadata of a file field in a multipart form.
BINARY = {"type": "string", "format": "binary"}


class FileUpload(Schema):
    """A multipart form with one file in the field `file`."""

    file = fields.Raw(required=True, metadata={**BINARY, "description": "the file"})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(endpoint: str, info: dict) -> str:
    if info["operation_id"]:
        return info["operation_id"]
    blueprint, _, view = endpoint.rpartition(".")
    return camel(view) if blueprint in ("", "api_v1") else camel(f"{blueprint}_{view}")


def _path_parameters(rule) -> list[dict]:
    from app.input_guard import CONVERTER_SCHEMAS

    params = []
    for match in _PATH_PARAM.finditer(rule.rule):
        converter = rule._converters.get(match["name"])
        schema = next((dict(s) for cls, s in CONVERTER_SCHEMAS.items() if isinstance(converter, cls)),
                      {"type": "string", "pattern": "^[^/]+$"})
        params.append({"in": "path", "name": match["name"], "required": True, "schema": schema})
    return params


def _content(schema, content_type: str = "application/json") -> dict:
    return {content_type: {"schema": schema}} if schema is not None else {
        content_type: {"schema": {"type": "string", "format": "binary"}}}


def _operation(info: dict, rule) -> dict:
    op: dict = {"operationId": operation_id(rule.endpoint, info), "summary": info["summary"],
                "tags": list(info["tags"]), "parameters": _path_parameters(rule), "responses": {}}
    if info["query"] is not None:
        op["parameters"].append({"in": "query", "schema": info["query"]})
    if info["body"] is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": info["body"]}}}
    elif info["form"] is not None:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": info["form"]}}}
    for status in (info["status"], *info["statuses"]):
        ok = {"description": "OK"}
        if status != 204 and (info["response"] is not None or info["content_type"] != "application/json"):
            ok["content"] = _content(info["response"], info["content_type"])
        op["responses"][str(status)] = ok
    error_statuses = set(info["errors"]) | {400, 422, 500}
    if op["parameters"] and any(p["in"] == "path" for p in op["parameters"]):
        error_statuses.add(404)
    if not info["public"]:
        error_statuses |= {401, 403}
        op["security"] = [{"bearerAuth": []}]
    for status in sorted(error_statuses):
        op["responses"][str(status)] = {"description": "Error",
                                        "content": {"application/json": {"schema": "ErrorResponse"}}}
    return op


def _refs(node) -> set[str]:
    """Names of the component schemas node refers to."""
    found, stack = set(), [node]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF):
                found.add(ref.removeprefix(_REF))
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _close_request_schemas(document: dict, classes: dict[str, type]) -> None:
    """additionalProperties: false on every schema a request body reaches that refuses unknown fields."""
    components = document.get("components", {}).get("schemas", {})
    bodies = [op["requestBody"] for ops in document["paths"].values() for op in ops.values() if "requestBody" in op]
    todo, seen = _refs(bodies), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        cls = classes.get(name)
        if cls is not None and cls.opts.unknown == RAISE and components[name].get("type", "object") == "object":
            components[name].setdefault("additionalProperties", False)
        todo |= _refs(components[name])


def build_spec(app: Flask) -> dict:
    classes: dict[str, type] = {}
    tool_names = app.extensions["toolbox"].schema_name_resolver()

    def resolve(schema) -> str:  # Tools' schemas are named <tool code>.<name>; remember each name's class
        name = tool_names(schema)
        classes[name] = resolve_schema_cls(schema)
        return name

    spec = APISpec(
        title="静安「一网统管」工具箱 API (Jing'an Toolbox)", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=resolve)],
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
            paths.setdefault(path, {})[method.lower()] = _operation(info, rule)
    from miniprogram_api.definitions import document_defined_tools

    document_defined_tools(spec, paths, lambda rule: _operation(app.view_functions[rule.endpoint]._openapi, rule),
                           app)
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    document = spec.to_dict()
    _close_request_schemas(document, classes)
    return document
