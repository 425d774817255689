"""The two index backends behind one interface: PostgreSQL (weighted positional tsvector + GIN,
tsquery with <-> phrases) and SQLite (a contentless FTS5 table fed by triggers).

What a backend needs beyond plain tables (the FTS5 table and its triggers, or the GIN index) is
made by create_backend_ddl(): after ``create_all`` through the DDL events below, and by the
Alembic migration that creates search_doc.
"""

from __future__ import annotations

import json

from sqlalchemy import and_, case, cast, column, event, not_, select, table, text
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models.search import FTS_TABLE, SearchDoc
from app.services.search.tokens import Term

FIELDS = ("title", "address", "text")


class PostgresBackend:
    """tsvector with positions and weights (title A, address B, text C); GIN index; tsquery phrases."""

    name = "postgresql"
    _WEIGHTS = {"title": "A", "address": "B", "text": "C"}

    @staticmethod
    def _lexeme(token: str) -> str:
        return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"

    def tokens_value(self, streams: dict[str, list[str]]) -> str:
        positions: dict[str, list[str]] = {}
        pos = 1
        for field in FIELDS:
            weight = self._WEIGHTS[field]
            for token in streams[field]:
                if pos > 16383:  # PostgreSQL's largest position
                    break
                positions.setdefault(token, []).append(f"{pos}{weight}")
                pos += 1
            pos += 8  # a gap, so no phrase spans two fields
        lexemes = [f"{self._lexeme(t)}:{','.join(p[:256])}" for t, p in positions.items()]
        lexemes += [self._lexeme(t) for t in streams["scope"] if t not in positions]
        return " ".join(lexemes)

    def bind_tokens(self, param):
        return cast(param, TSVECTOR)

    def _tsquery(self, terms: list[Term], weight: str = "") -> str:
        parts = []
        for term in terms:
            if term.kind == "prefix":
                parts.append(f"{self._lexeme(term.tokens[0])}:*{weight}")
            else:
                suffix = f":{weight}" if weight else ""
                parts.append("(" + " <-> ".join(self._lexeme(t) + suffix for t in term.tokens) + ")")
        return " & ".join(parts)

    def _matches(self, query: str) -> ColumnElement[bool]:
        return SearchDoc.tokens.op("@@")(cast(query, TSQUERY))

    def match(self, terms: list[Term], scopes: list[list[str]] = ()) -> ColumnElement[bool]:
        # A one-character prefix (号 in 威海路1451号) expands to every lexeme starting with it, often
        # most of the index: when other terms narrow the search, check it on their matches instead
        # (tokens || '' is not the indexed expression, so the planner cannot use the GIN for it).
        indexed = [t for t in terms if t.kind != "prefix"] or terms
        checked = [t for t in terms if t not in indexed]
        query = self._tsquery(indexed)
        for alternatives in scopes:
            query += " & (" + " | ".join(self._lexeme(t) for t in alternatives) + ")"
        condition = self._matches(query)
        if checked:
            unindexed = SearchDoc.tokens.op("||")(cast("", TSVECTOR))
            condition = and_(condition, unindexed.op("@@")(cast(self._tsquery(checked), TSQUERY)))
        return condition

    def quality(self, terms: list[Term]):
        return case((self._matches(self._tsquery(terms, "A")), 3),
                    (self._matches(self._tsquery(terms, "B")), 2), else_=1)

    def quality_tiers(self, terms: list[Term]):
        return _tiers(self._matches(self._tsquery(terms, "A")), self._matches(self._tsquery(terms, "B")))

    def create_ddl(self, connection) -> None:
        connection.execute(text("CREATE INDEX IF NOT EXISTS ix_search_doc_tokens ON search_doc USING gin (tokens)"))

    def drop_ddl(self, connection) -> None:
        """The GIN index goes with the table."""


class SqliteBackend:
    """A contentless FTS5 table (title, address, body) kept in step with search_doc by triggers."""

    name = "sqlite"
    _COLUMNS = {"title": "title", "address": "address", "text": "body"}
    _fts = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))

    def tokens_value(self, streams: dict[str, list[str]]) -> str:
        return json.dumps([" ".join(streams[f]) for f in (*FIELDS, "scope")], ensure_ascii=False)

    def bind_tokens(self, param):
        return param

    def _fts_query(self, terms: list[Term], field: str | None = None) -> str:
        parts = []
        for term in terms:
            phrase = '"' + " ".join(term.tokens) + '"' + ("*" if term.kind == "prefix" else "")
            parts.append(f"{self._COLUMNS[field] if field else '{title address body}'} : {phrase}")
        return " AND ".join(parts)

    def _matches(self, query: str) -> ColumnElement[bool]:
        ids = select(self._fts.c.rowid).where(self._fts.c[FTS_TABLE].op("MATCH")(query))
        return SearchDoc.id.in_(ids)

    def match(self, terms: list[Term], scopes: list[list[str]] = ()) -> ColumnElement[bool]:
        query = self._fts_query(terms)
        for alternatives in scopes:
            query += " AND scope : (" + " OR ".join(f'"{t}"' for t in alternatives) + ")"
        return self._matches(query)

    def quality(self, terms: list[Term]):
        return case((self._matches(self._fts_query(terms, "title")), 3),
                    (self._matches(self._fts_query(terms, "address")), 2), else_=1)

    def quality_tiers(self, terms: list[Term]):
        return _tiers(self._matches(self._fts_query(terms, "title")),
                      self._matches(self._fts_query(terms, "address")))

    def create_ddl(self, connection) -> None:
        for statement in _SQLITE_DDL:
            connection.execute(text(statement))

    def drop_ddl(self, connection) -> None:
        connection.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))


def _tiers(in_title, in_address) -> list[tuple[int, ColumnElement[bool]]]:
    """The conditions of quality 3, 2 and 1 (the same tiers as quality()), best first."""
    return [(3, in_title), (2, and_(not_(in_title), in_address)), (1, and_(not_(in_title), not_(in_address)))]


_FTS_VALUES = ("json_extract({r}.tokens, '$[0]'), json_extract({r}.tokens, '$[1]'), "
               "json_extract({r}.tokens, '$[2]'), json_extract({r}.tokens, '$[3]')")
_FTS_INSERT = (f"INSERT INTO {FTS_TABLE} (rowid, title, address, body, scope) "
               f"SELECT new.id, {_FTS_VALUES.format(r='new')} WHERE new.tokens IS NOT NULL;")
_FTS_DELETE = (f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, title, address, body, scope) "
               f"SELECT 'delete', old.id, {_FTS_VALUES.format(r='old')} WHERE old.tokens IS NOT NULL;")
_SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(title, address, body, scope, content='', "
    """tokenize="unicode61 remove_diacritics 0 tokenchars '_'")""",
    f"CREATE TRIGGER IF NOT EXISTS search_doc_fts_insert AFTER INSERT ON search_doc BEGIN {_FTS_INSERT} END",
    f"CREATE TRIGGER IF NOT EXISTS search_doc_fts_delete AFTER DELETE ON search_doc BEGIN {_FTS_DELETE} END",
    f"CREATE TRIGGER IF NOT EXISTS search_doc_fts_update AFTER UPDATE OF tokens ON search_doc "
    f"BEGIN {_FTS_DELETE} {_FTS_INSERT} END",
)

_BACKENDS = {"postgresql": PostgresBackend(), "sqlite": SqliteBackend()}


def backend_for(dialect_name: str):
    try:
        return _BACKENDS[dialect_name]
    except KeyError:
        raise RuntimeError(f"one-click query supports PostgreSQL and SQLite, not {dialect_name}") from None


def current_backend():
    return backend_for(db.session.get_bind().dialect.name)


def create_backend_ddl(bind) -> None:
    """Create what the index needs beyond plain tables: FTS5 table + triggers, or the GIN index.

    Runs after ``db.create_all()`` (DDL event on search_doc); the Alembic migration that creates
    search_doc must call it too: ``create_backend_ddl(op)`` (or ``op.get_bind()``). Idempotent.
    """
    bind = bind.get_bind() if hasattr(bind, "get_bind") else bind
    backend_for(bind.dialect.name).create_ddl(bind)


def drop_backend_ddl(bind) -> None:
    """Undo create_backend_ddl (call before dropping search_doc in a downgrade)."""
    bind = bind.get_bind() if hasattr(bind, "get_bind") else bind
    backend_for(bind.dialect.name).drop_ddl(bind)


@event.listens_for(SearchDoc.__table__, "after_create")
def _create_backend_ddl(target, connection, **kw):
    create_backend_ddl(connection)


@event.listens_for(SearchDoc.__table__, "before_drop")
def _drop_backend_ddl(target, connection, **kw):
    drop_backend_ddl(connection)
