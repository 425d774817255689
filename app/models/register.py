"""The record of a tool's register that stands at a place with a Jing'an code (a site, a building,
a waterlogging point …): one mixin instead of the same columns in every tool.

    class Building(RegisterRecord, db.Model):
        __tablename__ = "facade_inspection_building"
        record_of = ("facade_inspection", "building")   # tool and record type: places, audit, work items
        place_kind = "building"                          # a PlaceKind the tool's manifest declares
        id: Mapped[int] = mapped_column(primary_key=True)
        ...
        def search_record(self) -> SearchableRecord: ...  # how one-click query shows it

app.services.register.register_record() creates it with its place, audit row and index entry.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.models.base import TimestampMixin
from app.models.org import OrgUnit


def path_index(table: str, column: str = "org_path") -> Index:
    """The index that makes subtree (scope) queries on a path column one range scan on PostgreSQL."""
    return Index(f"ix_{table}_{column}", column, postgresql_ops={column: "text_pattern_ops"})


class RegisterRecord(TimestampMixin):
    record_of: ClassVar[tuple[str, str]]
    place_kind: ClassVar[str]

    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # The org unit's path, denormalised so scope checks are one LIKE on this table.
    org_path: Mapped[str] = mapped_column(String(255))
    place_code: Mapped[str | None] = mapped_column(String(32))  # 静安码

    @declared_attr
    def org_unit(cls) -> Mapped[OrgUnit]:
        return relationship(lazy="joined")

    @declared_attr.directive
    def __table_args__(cls):
        return (path_index(cls.__tablename__),)

    def search_record(self):
        """The SearchableRecord one-click query keeps for this record."""
        raise NotImplementedError(f"{type(self).__name__} must say how one-click query shows it")
