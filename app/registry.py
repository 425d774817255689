"""The tool registry: what tools exist, validated at start-up, mounted under /api/v1/tools/<code>/.

A tool is one package exposing `tool = Tool(manifest=..., blueprint=...)`. Built-in tools are
the sub-packages of the packages named by TOOLBOX_PACKAGES (`toolbox` by default); third-party
tools are found through the Python entry-point group `jingan_toolbox.tools` (the entry point
names a Tool instance). A malformed tool stops the app from starting, with a message that says
what to fix.

The registry is part of the platform core, so `app/` never imports a tool: it finds tools by
the package names in its configuration and reaches them through `current_registry()`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import Blueprint, Flask, current_app

from app.extensions import db
from app.models.users import KNOWN_ROLES
from app.models.workitem import TIME_LIMIT_KINDS

ENTRY_POINT_GROUP = "jingan_toolbox.tools"
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ToolError(Exception):
    """A tool cannot be registered; the message says which and why."""


@dataclass(frozen=True)
class Category:
    """A kind of work item a tool raises, and where it goes.

    route_to: an org unit code (e.g. a district department "JA-D-JG"), or "street" / "grid"
    for the unit of that level that contains the record's place.
    limit: one of TIME_LIMIT_KINDS — how many working days the item has to be closed.
    """

    code: str
    name: str
    route_to: str = "street"
    limit: str = "ordinary"


@dataclass(frozen=True)
class Manifest:
    code: str
    name: str
    icon: str
    version: str
    roles: tuple[str, ...] = ("worker", "operator", "manager")
    categories: tuple[Category, ...] = ()
    search_types: tuple[str, ...] = ()  # record types the tool feeds into one-click query
    description: str = ""


@dataclass
class Tool:
    manifest: Manifest
    blueprint: Blueprint | None = None
    # Yields the tool's searchable records for a full reindex (one-click query).
    search_documents: Callable[[], Iterable] | None = None
    # Called once per app with the app, for signal handlers or periodic jobs.
    setup: Callable[[Flask], None] | None = None
    source: str = field(default="builtin")
    package: str = ""  # the tool's top-level module, set at discovery

    @property
    def code(self) -> str:
        return self.manifest.code

    @property
    def url_prefix(self) -> str:
        return f"/api/v1/tools/{self.code}"

    def to_dict(self) -> dict:
        m = self.manifest
        return {
            "code": m.code, "name": m.name, "icon": m.icon, "version": m.version,
            "description": m.description, "roles": list(m.roles), "source": self.source,
            "url": self.url_prefix + "/",
            "categories": [{"code": c.code, "name": c.name, "route_to": c.route_to, "limit": c.limit}
                           for c in m.categories],
            "search_types": list(m.search_types),
        }


def validate(tool: Tool) -> None:
    """Refuse a malformed tool with a message naming the tool and the problem."""
    if not isinstance(tool, Tool):
        raise ToolError(f"{tool!r} is not a registry Tool")
    m = tool.manifest
    where = f"tool {m.code!r} ({tool.source})"
    if not CODE_PATTERN.match(m.code or ""):
        raise ToolError(f"{where}: code must match {CODE_PATTERN.pattern}")
    for attr in ("name", "icon", "version"):
        if not getattr(m, attr):
            raise ToolError(f"{where}: manifest.{attr} is required")
    unknown = set(m.roles) - KNOWN_ROLES
    if not m.roles or unknown:
        raise ToolError(f"{where}: roles must be a non-empty subset of {sorted(KNOWN_ROLES)}; "
                        f"unknown: {sorted(unknown)}")
    seen = set()
    for cat in m.categories:
        if not CODE_PATTERN.match(cat.code) or cat.code in seen:
            raise ToolError(f"{where}: category code {cat.code!r} is malformed or repeated")
        if cat.limit not in TIME_LIMIT_KINDS:
            raise ToolError(f"{where}: category {cat.code!r} limit must be one of {sorted(TIME_LIMIT_KINDS)}")
        seen.add(cat.code)
    if tool.blueprint is not None and tool.blueprint.name != m.code:
        raise ToolError(f"{where}: blueprint must be named {m.code!r}, not {tool.blueprint.name!r}")


def tool_tables(tool: Tool, model_base) -> list[str]:
    """Tables of the models defined inside the tool's package."""
    if not tool.package:
        return []
    return sorted({
        mapper.local_table.name for mapper in model_base.registry.mappers
        if mapper.class_.__module__ == tool.package or mapper.class_.__module__.startswith(tool.package + ".")
    })


def validate_tables(tool: Tool, table_names: Iterable[str]) -> None:
    """A tool's tables carry its code as a prefix, so tools never collide."""
    bad = [t for t in table_names if not t.startswith(tool.code + "_")]
    if bad:
        raise ToolError(f"tool {tool.code!r}: tables must be named '{tool.code}_…'; found {bad}")


def _builtin_tools(package_names: Iterable[str]) -> list[Tool]:
    tools = []
    for package_name in package_names:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.ispkg:
                continue
            module = importlib.import_module(f"{package_name}.{info.name}")
            tool = getattr(module, "tool", None)
            if tool is None:
                continue
            tool.source = "builtin"
            tool.package = module.__name__
            tools.append(tool)
    return tools


def _entry_point_tools() -> list[Tool]:
    tools = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            tool = ep.load()
        except Exception as exc:
            raise ToolError(f"entry point {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if isinstance(tool, Tool):
            tool.source = f"entry_point:{ep.name}"
            tool.package = ep.module.split(".")[0]
        tools.append(tool)
    return tools


class Registry:
    """The tools of one app, by code."""

    def __init__(self, tools: Iterable[Tool]):
        self.tools: dict[str, Tool] = {}
        for tool in tools:
            validate(tool)
            if tool.code in self.tools:
                raise ToolError(f"tool code {tool.code!r} is registered twice "
                                f"({self.tools[tool.code].source} and {tool.source})")
            self.tools[tool.code] = tool

    def get(self, code: str) -> Tool | None:
        return self.tools.get(code)

    def __iter__(self):
        return iter(sorted(self.tools.values(), key=lambda t: t.code))

    def category(self, tool_code: str, category_code: str) -> Category | None:
        tool = self.get(tool_code)
        if tool is None:
            return None
        return next((c for c in tool.manifest.categories if c.code == category_code), None)


def discover(package_names: Iterable[str] = ("toolbox",), include_entry_points: bool = True) -> list[Tool]:
    tools = _builtin_tools(package_names)
    if include_entry_points:
        tools += _entry_point_tools()
    return tools


def init_app(app: Flask) -> Registry:
    """Discover, validate and mount every tool; store the registry on the app."""
    tools = discover(app.config.get("TOOLBOX_PACKAGES", ("toolbox",)),
                     app.config.get("TOOLBOX_ENTRY_POINTS", True))
    disabled = set(app.config.get("TOOLBOX_DISABLED_TOOLS", ()))
    registry = Registry(t for t in tools if t.manifest.code not in disabled)
    for tool in registry:
        validate_tables(tool, tool_tables(tool, db.Model))
        if tool.blueprint is not None:
            app.register_blueprint(tool.blueprint, url_prefix=tool.url_prefix)
        if tool.setup is not None:
            tool.setup(app)
    app.extensions["toolbox"] = registry
    return registry


def current_registry() -> Registry:
    """The current app's tool registry (made by init_app)."""
    return current_app.extensions["toolbox"]
