"""One-click query (一键查询): one index over every tool's records, searched in Chinese, within scope.

Writers never import this package. Tools and the workflow announce their records with
``app.signals.searchable_saved`` / ``searchable_deleted`` inside their own transaction; the
handlers in indexing.py upsert or delete the record's SearchDoc in that same transaction, so the
index commits or rolls back with the record. One concern per module:

    tokens.py    Chinese bigram tokenising, query parsing, scope tokens
    backends.py  PostgreSQL (tsvector + GIN) and SQLite (FTS5) behind one interface, and their DDL
    indexing.py  writing the index from the signals, in the writer's transaction
    query.py     search(): scope, ranking, facets, a page of results
    snippets.py  highlighted, HTML-safe snippets with mobiles masked
    reindex.py   rebuilding from every source (``flask toolbox reindex``), as a job with progress

Importing the package connects the signal handlers. Its public names are re-exported here.
"""

from __future__ import annotations

from app.services.search.backends import (
    FIELDS,
    PostgresBackend,
    SqliteBackend,
    backend_for,
    create_backend_ddl,
    current_backend,
    drop_backend_ddl,
)
from app.services.search.indexing import ADDRESS_CHARS, TEXT_CHARS, TITLE_CHARS, aware, index_records, unindex
from app.services.search.query import SEARCH_ROLES, SearchFilters, search
from app.services.search.reindex import _SOURCES, REINDEX_BATCH, rebuild, register_source, reindex_job, sources
from app.services.search.snippets import HIGHLIGHT_POST, HIGHLIGHT_PRE, SNIPPET_CHARS, highlight_spans, snippet
from app.services.search.tokens import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    MAX_WORD_CHARS,
    Term,
    normalise,
    parse_query,
    scope_roots,
    scope_token,
    scope_tokens,
    tokenise,
)

__all__ = [
    "ADDRESS_CHARS", "FIELDS", "HIGHLIGHT_POST", "HIGHLIGHT_PRE", "MAX_QUERY_CHARS", "MAX_TERMS", "MAX_WORD_CHARS",
    "REINDEX_BATCH", "SEARCH_ROLES", "SNIPPET_CHARS", "TEXT_CHARS", "TITLE_CHARS", "_SOURCES", "PostgresBackend",
    "SearchFilters", "SqliteBackend", "Term", "aware", "backend_for", "create_backend_ddl", "current_backend",
    "drop_backend_ddl", "highlight_spans", "index_records", "normalise", "parse_query", "rebuild",
    "register_source", "reindex_job", "scope_roots", "scope_token", "scope_tokens", "search", "snippet",
    "sources", "tokenise", "unindex",
]
