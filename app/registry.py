"""The tool registry: what tools exist, validated at start-up, and everything they declare, wired.

A tool is one package exposing `tool = Tool(manifest=..., blueprint=...)`. Built-in tools are
the sub-packages of the packages named by TOOLBOX_PACKAGES (`toolbox` by default); third-party
tools are found through the Python entry-point group `jingan_toolbox.tools` (the entry point
names a Tool instance). A malformed tool stops the app from starting, with a message that says
what to fix.

The manifest and the Tool declare every extension point; init_app() wires each one, so no tool
has to remember a rule:

    blueprint          the staff API, mounted at /api/v1/tools/<code>/; the tool access check
                       (role, not disabled for the caller's unit) runs before every view
    pages              public blueprints (H5 pages, Open311) mounted at their own prefix
    manifest.place_kinds   the kinds of Jing'an code place the tool owns, and what a citizen
                       may report at such a place
    cli                a click group, `flask toolbox <name> …`
    periodic           jobs the scheduler queues every N seconds
    migrations         the folder of the tool's own Alembic branch (default: <package>/migrations)
    search_documents   every searchable record, for a full reindex of one-click query
    on_work_item_changed   called after commit when a work item the tool raised changes (in a
                       transaction the registry commits)
    setup(app)         anything else, once per app

The registry is part of the platform core, so `app/` never imports a tool: it finds tools by
the package names in its configuration and reaches them through `current_registry()`. A tool
is data to the registry (manifest, routes, access rule, search source), so a tool defined
without code can be registered the same way (`Registry.add`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import pkgutil
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import click
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint, Flask, current_app, g, has_request_context

from app.extensions import db
from app.jobs import periodic as schedule_periodic
from app.signals import work_item_changed
from app.terms import KNOWN_ROLES, RENAMED_LIMIT_KINDS, TIME_LIMIT_KINDS

ENTRY_POINT_GROUP = "jingan_toolbox.tools"
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
TOOL_API_PREFIX = "/api/v1/tools"


class ToolError(Exception):
    """A tool cannot be registered; the message says which and why."""


@dataclass(frozen=True)
class Category:
    """A kind of work item a tool raises, and where it goes.

    route_to: an org unit code (e.g. a district department "JA-D-JG"), or "street" / "grid"
    for the unit of that level that contains the record's place.
    limit: one of TIME_LIMIT_KINDS — how many working days the item has to be closed.
    citizen: a citizen may pick it when reporting at a Jing'an code (静安码随手拍).
    """

    code: str
    name: str
    route_to: str = "street"
    limit: str = "5 working days"
    citizen: bool = False


@dataclass(frozen=True)
class PlaceKind:
    """A kind of place with a Jing'an code that a tool owns (e.g. a construction site).

    citizen_categories: the citizen categories (codes) offered at such a place, likeliest first
    (the first is preselected); empty: every citizen category, none preselected.
    """

    code: str
    name: str
    citizen_categories: tuple[str, ...] = ()


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
    place_kinds: tuple[PlaceKind, ...] = ()


@dataclass(frozen=True)
class Periodic:
    """A job the scheduler queues every `every_seconds` (`flask toolbox scheduler`)."""

    name: str           # "<tool code>.<what>"
    func: Callable
    every_seconds: int
    queue: str = "default"


@dataclass
class Tool:
    manifest: Manifest
    blueprint: Blueprint | None = None
    pages: tuple[Blueprint, ...] = ()
    cli: click.Group | None = None
    periodic: tuple[Periodic, ...] = ()
    migrations: str | None = None
    search_documents: Callable[[], Iterable] | None = None
    on_work_item_changed: Callable | None = None
    setup: Callable[[Flask], None] | None = None
    source: str = field(default="builtin")
    package: str = ""  # the tool's top-level module, set at discovery

    @property
    def code(self) -> str:
        return self.manifest.code

    @property
    def url_prefix(self) -> str:
        return f"{TOOL_API_PREFIX}/{self.code}"

    @property
    def migrations_dir(self) -> str | None:
        """The tool's Alembic branch: Tool.migrations, else <package>/migrations when it exists."""
        if self.migrations:
            return self.migrations
        module = sys.modules.get(self.package)
        if module is None or not getattr(module, "__file__", None):
            return None
        folder = os.path.join(os.path.dirname(module.__file__), "migrations")
        return folder if os.path.isdir(folder) else None

    def owns_module(self, module_name: str) -> bool:
        return bool(self.package) and (module_name == self.package or module_name.startswith(self.package + "."))

    def to_dict(self) -> dict:
        m = self.manifest
        return {
            "code": m.code, "name": m.name, "icon": m.icon, "version": m.version,
            "description": m.description, "roles": list(m.roles), "source": self.source,
            "url": self.url_prefix + "/",
            "categories": [{"code": c.code, "name": c.name, "route_to": c.route_to, "limit": c.limit}
                           for c in m.categories],
            "search_types": list(m.search_types),
            "place_kinds": [{"code": k.code, "name": k.name} for k in m.place_kinds],
        }


def _codes(values, what: str, where: str) -> None:
    seen = set()
    for value in values:
        if not CODE_PATTERN.match(value.code) or value.code in seen:
            raise ToolError(f"{where}: {what} code {value.code!r} is malformed or repeated")
        seen.add(value.code)


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
    _codes(m.categories, "category", where)
    _codes(m.place_kinds, "place kind", where)
    for cat in m.categories:
        if cat.limit not in TIME_LIMIT_KINDS:
            renamed = RENAMED_LIMIT_KINDS.get(cat.limit)
            hint = f" ({cat.limit!r} is now {renamed!r})" if renamed else ""
            raise ToolError(f"{where}: category {cat.code!r} limit must be one of {sorted(TIME_LIMIT_KINDS)}{hint}")
    if tool.blueprint is not None and tool.blueprint.name != m.code:
        raise ToolError(f"{where}: blueprint must be named {m.code!r}, not {tool.blueprint.name!r}")
    for job in tool.periodic:
        if not job.name.startswith(m.code + "."):
            raise ToolError(f"{where}: periodic job {job.name!r} must be named '{m.code}.…'")
    if tool.cli is not None and tool.cli.name not in (m.code, m.code.replace("_", "-")):
        raise ToolError(f"{where}: the CLI group must be named {m.code.replace('_', '-')!r}, not {tool.cli.name!r}")


def tool_tables(tool: Tool, model_base) -> list[str]:
    """Tables of the models defined inside the tool's package."""
    return sorted({mapper.local_table.name for mapper in model_base.registry.mappers
                   if tool.owns_module(mapper.class_.__module__)})


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
    """The tools of one app, by code, and what they declare, looked up across tools."""

    def __init__(self, tools: Iterable[Tool] = ()):
        self.tools: dict[str, Tool] = {}
        # Tools defined without code are rows: refresher(registry) brings the registry up to date with the
        # published definitions (set by app/services/definitions.py), at most every refresh_every seconds
        # and once per request, so every host sees a definition another host published.
        self.refresher: Callable[[Registry], None] | None = None
        self.refresh_every = 2.0
        self._refreshed_at = float("-inf")
        for tool in tools:
            self.add(tool)

    def refresh_if_due(self) -> None:
        if self.refresher is None:
            return
        if has_request_context():
            if g.get("_toolbox_refreshed"):
                return
            g._toolbox_refreshed = True
        now = time.monotonic()
        if now - self._refreshed_at < self.refresh_every:
            return
        self._refreshed_at = now
        self.refresher(self)

    def add(self, tool: Tool) -> Tool:
        validate(tool)
        if tool.code in self.tools:
            raise ToolError(f"tool code {tool.code!r} is registered twice "
                            f"({self.tools[tool.code].source} and {tool.source})")
        for kind in tool.manifest.place_kinds:
            owner = self.place_kind_owner(kind.code)
            if owner is not None:
                raise ToolError(f"tool {tool.code!r}: place kind {kind.code!r} is already declared by {owner.code!r}")
        self.tools[tool.code] = tool
        return tool

    def put_defined(self, tool: Tool) -> Tool:
        """Register (or replace with its newer version) a tool defined without code (app/services/definitions.py).
        It has no blueprint of its own: the one engine serves every defined tool, after the same access check."""
        have = self.tools.get(tool.code)
        if have is not None and have.source != tool.source:
            raise ToolError(f"tool code {tool.code!r} is registered by {have.source}; a definition cannot replace it")
        validate(tool)
        for kind in tool.manifest.place_kinds:
            owner = self.place_kind_owner(kind.code)
            if owner is not None and owner.code != tool.code:
                raise ToolError(f"tool {tool.code!r}: place kind {kind.code!r} is already declared by {owner.code!r}")
        self.tools[tool.code] = tool
        return tool

    def remove_defined(self, code: str) -> None:
        if code in self.tools and self.tools[code].source == "definition":
            del self.tools[code]

    def get(self, code: str) -> Tool | None:
        return self.tools.get(code)

    def __iter__(self):
        return iter(sorted(self.tools.values(), key=lambda t: t.code))

    def category(self, tool_code: str, category_code: str) -> Category | None:
        tool = self.get(tool_code)
        if tool is None:
            return None
        return next((c for c in tool.manifest.categories if c.code == category_code), None)

    # --- places and what citizens report at them --------------------------------------------------

    @property
    def place_kinds(self) -> dict[str, PlaceKind]:
        return {kind.code: kind for tool in self for kind in tool.manifest.place_kinds}

    def place_kind_owner(self, code: str) -> Tool | None:
        return next((t for t in self.tools.values() if any(k.code == code for k in t.manifest.place_kinds)), None)

    def citizen_categories(self, place_kind: str | None = None) -> list[Category]:
        """What a citizen may report (at a place of this kind), likeliest first."""
        offered = [c for tool in self for c in tool.manifest.categories if c.citizen]
        kind = self.place_kinds.get(place_kind or "")
        if kind is None or not kind.citizen_categories:
            return offered
        by_code = {c.code: c for c in offered}
        return [by_code[code] for code in kind.citizen_categories if code in by_code]

    def check_citizen_categories(self) -> None:
        """Every place kind names citizen categories that a registered tool offers (when one does)."""
        offered = {c.code for c in self.citizen_categories()}
        if not offered:
            return  # no citizen reporting in this app: nothing to offer, nothing to check
        for tool in self:
            for kind in tool.manifest.place_kinds:
                unknown = sorted(set(kind.citizen_categories) - offered)
                if unknown:
                    raise ToolError(f"tool {tool.code!r}: place kind {kind.code!r} offers citizen categories "
                                    f"{unknown} that no tool declares (citizen=True)")

    # --- what belongs to whom ----------------------------------------------------------------------

    def tool_of_module(self, module_name: str) -> Tool | None:
        return next((t for t in self.tools.values() if t.owns_module(module_name)), None)

    def tool_of_endpoint(self, endpoint: str | None) -> Tool | None:
        """The tool whose staff API serves this endpoint (its blueprint, or one nested in it)."""
        if not endpoint or "." not in endpoint:
            return None
        tool = self.get(endpoint.split(".", 1)[0])
        return tool if tool is not None and tool.blueprint is not None else None

    def search_sources(self) -> dict[str, Callable[[], Iterable]]:
        return {t.code: t.search_documents for t in self if t.search_documents is not None}

    def tables(self, model_base, only: str | None = None) -> set[str]:
        """Tables of the core (only="core"), of one tool (only=<code>), or of the core and every registered
        tool (None): what a schema comparison of this app looks at. Models of tools imported but not
        registered (disabled ones, another app's sample tools) are left out."""
        def owner(module: str) -> str | None:
            if module == "app" or module.startswith("app."):
                return "core"
            tool = self.tool_of_module(module)
            return tool.code if tool is not None else None
        owners = {mapper.local_table.name: owner(mapper.class_.__module__) for mapper in model_base.registry.mappers}
        return {t for t, o in owners.items() if o is not None and (only is None or o == only)}

    def migration_dirs(self) -> list[str]:
        return [d for d in (t.migrations_dir for t in self) if d]

    def schema_name_resolver(self) -> Callable:
        """Names of marshmallow schemas in the OpenAPI document, namespaced by the tool that defines them
        (`facade_inspection.InspectionIn`), so two tools may both call a schema InspectionIn."""
        def resolve(schema) -> str:
            cls = resolve_schema_cls(schema)
            name = cls.__name__.removesuffix("Schema") or cls.__name__
            tool = self.tool_of_module(cls.__module__)
            return f"{tool.code}.{name}" if tool is not None else name
        return resolve


def discover(package_names: Iterable[str] = ("toolbox",), include_entry_points: bool = True) -> list[Tool]:
    tools = _builtin_tools(package_names)
    if include_entry_points:
        tools += _entry_point_tools()
    return tools


def _committing(handler: Callable) -> Callable:
    """A tool's on_work_item_changed runs after the workflow's commit, in a transaction of its own."""
    def handle(sender, **change):
        try:
            handler(sender, **change)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    handle.tool_handler = handler
    return handle


def _access_check(code: str, may_open: Callable):
    def check_tool_access():
        """Before every view of the tool's staff API: the caller may open the tool, or 403."""
        may_open(code)
    check_tool_access.tool_code = code
    return check_tool_access


def _mount(app: Flask, registry: Registry, tool: Tool, may_open: Callable) -> None:
    if tool.blueprint is not None:
        app.register_blueprint(tool.blueprint, url_prefix=tool.url_prefix)
        for endpoint, view in app.view_functions.items():
            if registry.tool_of_endpoint(endpoint) is tool and getattr(view, "is_public", False):
                raise ToolError(f"tool {tool.code!r}: {endpoint} is public; the staff API needs a signed-in user "
                                "who may open the tool, so public pages go in Tool.pages")
        # Keyed by the blueprint's name, so it runs for the blueprint's routes (and nested ones) only,
        # after the app-wide authentication and before the view.
        app.before_request_funcs.setdefault(tool.blueprint.name, []).append(
            _access_check(tool.code, may_open))
    for page in tool.pages:
        app.register_blueprint(page)
    toolbox_cli = app.cli.commands.get("toolbox")
    if tool.cli is not None and toolbox_cli is not None and tool.cli.name not in toolbox_cli.commands:
        toolbox_cli.add_command(tool.cli)
    for job in tool.periodic:
        schedule_periodic(job.name, job.every_seconds, job.queue)(job.func)
    if tool.on_work_item_changed is not None and not any(
            getattr(r, "tool_handler", None) is tool.on_work_item_changed
            for r in work_item_changed.receivers_for(tool.code)):
        work_item_changed.connect(_committing(tool.on_work_item_changed), sender=tool.code, weak=False)
    if tool.setup is not None:
        tool.setup(app)


def init_app(app: Flask, may_open: Callable[[str], object]) -> Registry:
    """Discover, validate and wire every tool; store the registry on the app.

    may_open(code) is the platform's access rule for the current user: it returns, or raises
    a 403 ApiError (tool_not_available). The registry runs it before every view of every tool.
    """
    tools = discover(app.config.get("TOOLBOX_PACKAGES", ("toolbox",)),
                     app.config.get("TOOLBOX_ENTRY_POINTS", True))
    disabled = set(app.config.get("TOOLBOX_DISABLED_TOOLS", ()))
    registry = Registry(t for t in tools if t.manifest.code not in disabled)
    registry.check_citizen_categories()
    for tool in registry:
        validate_tables(tool, tool_tables(tool, db.Model))
    app.extensions["toolbox"] = registry
    for tool in registry:
        _mount(app, registry, tool, may_open)
    return registry


def current_registry() -> Registry:
    """The current app's tool registry (made by init_app), with the published definitions of tools defined
    without code brought up to date."""
    registry = current_app.extensions["toolbox"]
    registry.refresh_if_due()
    return registry
