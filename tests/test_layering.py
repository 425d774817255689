"""The layers' import rules, read from the source: the platform core (app/) never imports the tool layer."""

from __future__ import annotations

import ast
from pathlib import Path

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
