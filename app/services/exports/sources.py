"""Export sources: one per list that can be exported (一键导出), in a registry others plug into.

    class Lamps(QueryExportSource):
        code, name, model = "street_lamps", "路灯台账", Lamp
        columns = (ExportColumn("name", "名称"), ExportColumn("mobile", "联系电话", personal="mobile"))
        def statement(self, user, filters): return tk.scoped(select(Lamp), Lamp.org_path, user)
        def values(self, lamp): return {"name": lamp.name, "mobile": lamp.mobile}

    register_export_source(Lamps())

A source says who may export it, who may see its personal columns unmasked, its Chinese headers, and
its rows (values by column key; codes already turned into their Chinese labels). The export job
(jobs.py) does the rest the same way for every source: Beijing time, masking, sheets, audit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import func, select

from app.extensions import db


@dataclass(frozen=True)
class ExportColumn:
    key: str
    label: str                   # the Chinese header
    personal: str | None = None  # "mobile", "name" or "id_number": masked unless the caller may unmask


class ExportSource:
    """One exportable list. Override what differs; the defaults refuse nobody and unmask for nobody."""

    code: ClassVar[str]
    name: ClassVar[str]
    columns: ClassVar[tuple[ExportColumn, ...]] = ()

    def allowed(self, user) -> bool:
        return True

    def may_unmask(self, user) -> bool:
        return False

    def columns_for(self, user, filters: dict) -> tuple[ExportColumn, ...]:
        return self.columns

    def count(self, user, filters: dict) -> int | None:
        return None

    def rows(self, user, filters: dict) -> Iterator[dict]:
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name}


class QueryExportSource(ExportSource):
    """A source over one model's rows: statement() (scoped, filtered) read in id order, a batch at a time."""

    model: ClassVar[type]
    batch: ClassVar[int] = 1000

    def statement(self, user, filters: dict):
        raise NotImplementedError

    def values(self, obj) -> dict:
        raise NotImplementedError

    def count(self, user, filters: dict) -> int:
        stmt = self.statement(user, filters).order_by(None)
        return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()

    def rows(self, user, filters: dict) -> Iterator[dict]:
        last = None
        while True:
            stmt = self.statement(user, filters).order_by(self.model.id).limit(self.batch)
            if last is not None:
                stmt = stmt.where(self.model.id > last)
            objs = db.session.execute(stmt).unique().scalars().all()
            if not objs:
                return
            rows = [self.values(o) for o in objs]  # read before yielding: the job commits progress in between
            last = objs[-1].id
            db.session.expunge_all()
            yield from rows


_SOURCES: dict[str, ExportSource] = {}


def register_export_source(source: ExportSource, *, replace: bool = False) -> ExportSource:
    """Add a list to the exports (a tool's, a no-code tool's…); codes are unique."""
    if source.code in _SOURCES and not replace:
        raise ValueError(f"export source {source.code!r} is already registered")
    _SOURCES[source.code] = source
    return source


def unregister_export_source(code: str) -> None:
    _SOURCES.pop(code, None)


def export_sources() -> dict[str, ExportSource]:
    """Every registered source, the built-in tools' tables and the defined tools' records included."""
    from app.services.exports.builtin import tool_tables
    from app.services.exports.defined import defined_tables

    return {**tool_tables(), **defined_tables(), **_SOURCES}


def export_source(code: str) -> ExportSource | None:
    return export_sources().get(code)
