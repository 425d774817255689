"""A tool definition as one file (JSON or YAML), so definitions live in git and move between environments.

    flask toolbox definitions export shared_bikes_patrol -o shared_bikes_patrol.yaml
    flask toolbox definitions import shared_bikes_patrol.yaml --publish
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from app.errors import ApiError


def dump_definition(body: dict, fmt: str = "json") -> str:
    if fmt == "yaml":
        return yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def load_definition(text: str, name: str = "") -> dict:
    """A definition from JSON or YAML text (JSON is YAML, but its errors read better as JSON's)."""
    try:
        body = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise ApiError(400, "definition_unreadable", "定义文件无法解析",
                       f"The definition file cannot be read: {err}") from err
    if not isinstance(body, dict):
        raise ApiError(400, "definition_unreadable", "定义文件须为一个对象",
                       "The definition file must hold one object")
    return body


def read_definition_file(path: str | Path) -> dict:
    path = Path(path)
    return load_definition(path.read_text(encoding="utf-8"), path.name)
