"""What schema comparison (Alembic autogenerate and the migration test) must leave alone."""

from __future__ import annotations


def include_name(name, type_, parent_names) -> bool:
    """Skip tables the search backend creates itself (SQLite FTS5 and its shadow tables), and the monthly
    partitions of the readings table (PostgreSQL; made and dropped by jobs, not by the models)."""
    from app.models.search import is_backend_table

    if type_ == "table" and name.startswith("integration_reading_"):
        return False
    return not (type_ == "table" and is_backend_table(name))


def include_object_for(dialect_name: str, tables: set[str] | None = None):
    """Skip model indexes declared for another database only (Index(...).ddl_if(dialect=...)), and, when
    `tables` is given, every table (in the models or in the database) outside it: the core chain and each
    tool's branch are compared to their own tables only."""
    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table" and tables is not None and name not in tables:
            return False
        ddl_if = getattr(obj, "_ddl_if", None)
        if type_ == "index" and not reflected and ddl_if is not None and ddl_if.dialect:
            return ddl_if.dialect == dialect_name
        return True
    return include_object
