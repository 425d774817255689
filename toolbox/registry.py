"""The tool registry lives in the platform core (app/registry.py); this name stays for tools written
against it. New tools import `Tool`, `Manifest` and `Category` from app.registry (or the tool kit)."""

from app.registry import (  # noqa: F401 - re-exported
    CODE_PATTERN,
    ENTRY_POINT_GROUP,
    KNOWN_ROLES,
    TIME_LIMIT_KINDS,
    Category,
    Manifest,
    Registry,
    Tool,
    ToolError,
    current_registry,
    discover,
    init_app,
    tool_tables,
    validate,
    validate_tables,
)
