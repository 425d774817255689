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


SEED_FOLDER = Path(__file__).resolve().parent.parent / "seed_definitions"


def import_definition(body: dict, actor, *, publish: bool = False, resolutions=None) -> dict:
    """Create or replace the draft of body's tool; publish it when asked and it differs from the version in
    force. Returns what happened: {code, draft: created|updated|unchanged, published: version|None, report}.
    THE CALLER COMMITS."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models.definitions import ToolDefinition
    from app.services import definitions

    code = body.get("code")
    row = db.session.execute(select(ToolDefinition).where(ToolDefinition.code == code)).scalar_one_or_none()
    if row is None:
        row = definitions.create_draft(body, actor)
        outcome = "created"
    elif row.draft == definitions.normalise(body):
        outcome = "unchanged"
    else:
        definitions.update_draft(code, body, actor)
        outcome = "updated"
    result = {"code": code, "draft": outcome, "published": None}
    current = definitions.published(code)
    if publish and (current is None or current.body != row.draft):
        report = definitions.publish(code, actor, resolutions=resolutions)
        result.update(published=report["to_version"], report=report)
    return result


def load_seed_definitions(actor: str = "seed") -> list[dict]:
    """The scenes the toolbox ships as definitions (app/seed_definitions/*.yaml), imported and published.
    Running it again changes nothing; a changed file publishes a new version (refused if it would lose data)."""
    return [import_definition(read_definition_file(path), actor, publish=True)
            for path in sorted(SEED_FOLDER.glob("*.yaml"))]
