"""Tables for Alembic revisions, written one column per phrase, named by the models' naming convention.

    from app.migration_helpers import create_table, drop_tables, REGISTER_RECORD

    create_table("shared_bikes_point", "id int pk", *REGISTER_RECORD,
                 "threshold int", "last_count int?", "last_checked_at time?")

A phrase is `name type[?] [flags]`: types int, bigint, str<N>, text, bool, float, date, time
(timezone-aware), json; `?` allows NULL; flags `pk`, `unique`, `index`, `path` (an index with
text_pattern_ops, for subtree LIKE queries on PostgreSQL), `-> table.column` (a foreign key) and
`cascade` (ON DELETE CASCADE). `unique(a, b)`, `index(a, b)` and `path(a)` name several columns (or
give an index another name), optionally `as <name>`. Anything else (an sa.Column, a constraint) is
passed through as it is.

Revisions must not depend on code that changes later: what a phrase means is frozen. A change to a
helper's output is a new helper (or a new phrase), never an edit of an old one.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

_TYPES = {
    "int": sa.Integer, "bigint": sa.BigInteger, "text": sa.Text, "bool": sa.Boolean, "float": sa.Float,
    "date": sa.Date, "json": sa.JSON, "time": lambda: sa.DateTime(timezone=True),
}
_PHRASE = re.compile(r"^(?P<name>\w+) (?P<type>[a-z]+)(?P<length>\d+)?(?P<null>\?)?(?P<flags>.*)$")
_GROUP = re.compile(r"^(?P<kind>unique|index|path)\((?P<columns>[\w, ]+)\)(?: as (?P<name>\w+))?$")
_FK = re.compile(r"-> (?P<table>\w+)\.(?P<column>\w+)")

#: The columns of app.models.register.RegisterRecord (a tool's record at a place with a Jing'an code).
REGISTER_RECORD = ("name str100", "address str200", "lat float?", "lng float?",
                   "org_unit_id int -> org_unit.id index", "org_path str255 path", "place_code str32?",
                   "created_at time", "updated_at time")
TIMESTAMPS = ("created_at time", "updated_at time")


def _column(table: str, phrase: str, indexes: list) -> tuple[sa.Column, list]:
    match = _PHRASE.match(phrase)
    if match is None:
        raise ValueError(f"{table}: cannot read column phrase {phrase!r}")
    name, kind, flags = match["name"], match["type"], match["flags"].split()
    type_ = sa.String(int(match["length"])) if kind == "str" else _TYPES[kind]()
    constraints = []
    fk = _FK.search(match["flags"])
    if fk:
        constraints.append(sa.ForeignKeyConstraint(
            [name], [f"{fk['table']}.{fk['column']}"], name=op.f(f"fk_{table}_{name}_{fk['table']}"),
            ondelete="CASCADE" if "cascade" in flags else None))
    if "pk" in flags:
        constraints.append(sa.PrimaryKeyConstraint(name, name=op.f(f"pk_{table}")))
    if "unique" in flags:
        constraints.append(sa.UniqueConstraint(name, name=op.f(f"uq_{table}_{name}")))
    if "index" in flags:
        indexes.append((op.f(f"ix_{table}_{name}"), [name], {}))
    if "path" in flags:
        indexes.append((f"ix_{table}_{name}", [name], {"postgresql_ops": {name: "text_pattern_ops"}}))
    return sa.Column(name, type_, nullable=bool(match["null"])), constraints


def create_table(table: str, *parts) -> None:
    """op.create_table from phrases, then its indexes."""
    columns, constraints, indexes = [], [], []
    for part in parts:
        if not isinstance(part, str):
            (columns if isinstance(part, sa.Column) else constraints).append(part)
            continue
        group = _GROUP.match(part)
        if group:
            names = [c.strip() for c in group["columns"].split(",")]
            if group["kind"] == "unique":
                constraints.append(sa.UniqueConstraint(*names, name=group["name"] or op.f(f"uq_{table}_{names[0]}")))
            else:
                options = {"postgresql_ops": {n: "text_pattern_ops" for n in names}} if group["kind"] == "path" else {}
                indexes.append((group["name"] or op.f(f"ix_{table}_{names[0]}"), names, options))
            continue
        column, extra = _column(table, part, indexes)
        columns.append(column)
        constraints += extra
    op.create_table(table, *columns, *constraints)
    for name, names, options in indexes:
        op.create_index(name, table, names, unique=False, **options)


def drop_tables(*tables: str) -> None:
    """Drop tables (their indexes go with them), in the order given: dependents first."""
    for table in tables:
        op.drop_table(table)
