"""The layers' import rules, read from the source: the platform core (app/) never imports the tool layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def imports_of_package(package: str) -> list[tuple[str, int, str]]:
    return [(str(path.relative_to(ROOT)), line, module)
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, module in imported_modules(path)]


def test_the_core_never_imports_a_tool():
    offending = [f"{path}:{line} imports {module}" for path, line, module in imports_of_package("app")
                 if module == "toolbox" or module.startswith("toolbox.")]
    assert offending == [], "app/ reaches tools only through app.registry:\n" + "\n".join(offending)


def test_the_scan_sees_function_level_imports(tmp_path):
    """The check above would miss nothing hidden inside a function."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from toolbox.registry import Tool\n    import toolbox.flood_duty\n")
    assert [m for _, m in imported_modules(module)] == ["toolbox.registry", "toolbox.flood_duty"]


# --- the tool contract: a tool imports the platform only through app.toolkit -----------------------------

TOOLKIT, MIGRATION_HELPERS = "app.toolkit", "app.migration_helpers"


def _platform_names(node) -> list[str]:
    """The app.* modules an import statement names (`from app import toolkit` names app.toolkit)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == "app" or a.name.startswith("app.")]
    if node.module == "app":
        return [f"app.{a.name}" for a in node.names]
    return [node.module] if node.module.startswith("app.") else []


def contract_violations(folder: Path, package: str) -> list[str]:
    """Imports in a tool's folder that break the contract: any app.* module but the tool kit (a tool's
    migrations may use the migration helpers), or another tool. The tool's tests are not the tool."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).parts
        if parts[0] == "tests":
            continue
        allowed = {TOOLKIT, MIGRATION_HELPERS} if parts[0] == "migrations" else {TOOLKIT}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom) or getattr(node, "level", 0):
                continue
            where = f"{path.relative_to(folder.parent)}:{node.lineno}"
            found += [f"{where} imports {name}" for name in _platform_names(node) if name not in allowed]
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [f"{where} imports another tool: {m}" for m in modules
                      if m.startswith("toolbox.") and m != package and not m.startswith(package + ".")
                      and m != "toolbox.registry"]
    return found


def tool_folders() -> list[tuple[Path, str]]:
    folders = []
    for parent, package in ((ROOT / "toolbox", "toolbox"), (ROOT / "tests" / "sample_tools", "tests.sample_tools")):
        folders += [(p, f"{package}.{p.name}") for p in sorted(parent.iterdir()) if (p / "__init__.py").exists()]
    return folders


@pytest.mark.parametrize(("folder", "package"), tool_folders(), ids=lambda v: getattr(v, "name", v))
def test_a_tool_imports_the_platform_only_through_the_tool_kit(folder, package):
    assert contract_violations(folder, package) == [], "use `from app import toolkit as tk` (docs/tools.md)"


def test_the_contract_check_flags_what_it_should(tmp_path):
    tool = tmp_path / "lamps"
    (tool / "tests").mkdir(parents=True)
    (tool / "migrations").mkdir()
    (tool / "__init__.py").write_text("from app import toolkit as tk\nfrom app.toolkit import db\n")
    (tool / "api.py").write_text("def f():\n    from app.services.scope import scope_clause\n"
                                 "from app import auth\nimport toolbox.flood_duty.models\n")
    (tool / "migrations" / "a1_lamps.py").write_text("from app.migration_helpers import create_table\n")
    (tool / "tests" / "test_lamps.py").write_text("from app.extensions import db\n")
    problems = sorted(p.split(" imports ", 1)[1] for p in contract_violations(tool, "x.lamps"))
    assert problems == ["another tool: toolbox.flood_duty.models", "app.auth", "app.services.scope"]
