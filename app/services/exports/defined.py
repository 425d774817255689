"""Export sources for tools defined without code: one per published definition, headers from its field labels.

The definition in force gives the columns; each record's values are read as the engine stores them (personal
fields sealed, so they are unsealed here and masked by the export job unless the caller may unmask, as for
every other source).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from app.extensions import db
from app.models.definitions import DefinedRecord, ToolDefinition
from app.models.users import Role
from app.registry import current_registry
from app.services import defined_records, definitions
from app.services import fields as F
from app.services.exports.sources import ExportColumn, QueryExportSource
from app.services.scope import business_memberships, scope_clause
from app.services.toolbox import may_open

PERSONAL_KIND = {"phone": "mobile", "person_name": "name", "id_number": "id_number"}
_META = (ExportColumn("org_unit", "所属单位"), ExportColumn("serial", "编号"), ExportColumn("version", "定义版本"),
         ExportColumn("place_code", "静安码"), ExportColumn("address", "地址"), ExportColumn("created_at", "登记时间"))


class DefinedToolRecords(QueryExportSource):
    """The records of one defined tool in the caller's scope."""

    model = DefinedRecord

    def __init__(self, code: str, body: dict):
        self.code, self.body = code, body
        self.name = f"{body['name']}·记录"
        self.fields = [f for f in body["fields"] if f["type"] != "serial"]
        self.columns = (*_META, *(ExportColumn(f"f:{f['name']}", f["label"], PERSONAL_KIND.get(f["type"]))
                                  for f in self.fields))

    def _tool(self):
        return next((t for t in current_registry() if t.code == self.code), None)

    def allowed(self, user) -> bool:
        tool = self._tool()
        return tool is not None and may_open(user, tool)

    def may_unmask(self, user) -> bool:
        return bool(business_memberships(user, Role.OPERATOR, Role.MANAGER))

    def statement(self, user, filters):
        return select(DefinedRecord).where(DefinedRecord.tool_code == self.code,
                                           scope_clause(DefinedRecord.org_path, user))

    def values(self, record: DefinedRecord) -> dict:
        plain = {**record.data, **defined_records.unsealed_values(self.body, record.data)}
        out = {"org_unit": record.org_unit.name if record.org_unit else None, "serial": record.serial,
               "version": record.version, "place_code": record.place_code, "address": record.address,
               "created_at": record.created_at}
        for spec in self.fields:
            out[f"f:{spec['name']}"] = _cell(spec, plain.get(spec["name"]))
        return out


def _cell(spec, value):
    """A value as a person reads it in a sheet: choice labels, 是/否, lines of a group as text."""
    if value is None:
        return None
    kind = spec["type"]
    if kind == "choice":
        return F.option_label(spec, value)
    if kind == "multi_choice" and isinstance(value, list):
        return "、".join(str(F.option_label(spec, v)) for v in value)
    if kind == "boolean":
        return "是" if value else "否"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def defined_tables() -> dict[str, DefinedToolRecords]:
    """A source per published definition (the version in force)."""
    out: dict[str, DefinedToolRecords] = {}
    codes = select(ToolDefinition.code).where(ToolDefinition.published_version.is_not(None))
    for code in db.session.execute(codes).scalars():
        current = definitions.published(code)
        if current is not None:
            out[code] = DefinedToolRecords(code, current.body)
    return out
