"""One-click query (一键查询): one index over every tool's records, searched in Chinese, within scope.

Writers never import this module. Tools and the workflow announce their records with
``app.signals.searchable_saved`` / ``searchable_deleted`` inside their own transaction; the
handlers below upsert or delete the record's SearchDoc in that same transaction, so the index
commits or rolls back with the record. A full rebuild (``flask toolbox reindex``) reads every
registered tool's ``search_documents`` and every source given to ``register_source``.

Tokenising: Chinese has no spaces. Text is NFKC-normalised and case-folded, then each run of
CJK characters becomes its overlapping bigrams plus its last character (共和新路 → 共和 和新 新路 路),
and each run of letters/digits becomes one word (1234号 → 1234 号). A query term matches when its
bigrams occur *consecutively* (a phrase), so 共和新路 finds 共和新路1234号 but not 共和路…新路;
a single CJK character matches as a prefix; words match whole. Terms are ANDed.

Two backends behind one interface: PostgreSQL (weighted positional tsvector + GIN, tsquery with
<-> phrases) and SQLite (contentless FTS5 table fed by triggers). Results are ranked by match
quality — the whole query in the title, else in the address, else anywhere — then by recency.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import escape
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    null,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.sql.elements import ColumnElement

from app.errors import ApiError
from app.extensions import db
from app.jobs import job
from app.models.base import utcnow
from app.models.search import FTS_TABLE, SearchDoc
from app.services.crypto import mask_mobile
from app.services.scope import scope_clause, scope_paths
from app.signals import SearchableRecord, searchable_deleted, searchable_saved

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 50          # longer queries are refused (400)
MAX_TERMS = 10                # distinct terms in one query
MAX_WORD_CHARS = 64           # longer Latin/number runs are cut (PostgreSQL lexeme sanity)
TITLE_CHARS, ADDRESS_CHARS, TEXT_CHARS = 200, 200, 4000  # what is stored and indexed per record
SNIPPET_CHARS = 60
HIGHLIGHT_PRE, HIGHLIGHT_POST = "<em>", "</em>"
#: Roles whose units define what one-click query shows. The separated admins (security, audit)
#: manage people and logs, not the district's records.
SEARCH_ROLES = ("worker", "operator", "manager", "admin")

# Han ideographs (incl. extension A, compatibility, extension B+), kana, Hangul syllables.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ebef"
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>(?:(?![{_CJK}])[^\W_])+)")
_WORD_CHAR = re.compile(rf"(?![{_CJK}])[^\W_]")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


# --- tokenising --------------------------------------------------------------------------------

def normalise(value: str) -> str:
    """NFKC (full-width → half-width) and case-folded: what tokens and highlights compare."""
    return unicodedata.normalize("NFKC", value).casefold()


def _runs(value: str) -> Iterator[tuple[str, str]]:
    for m in _RUN.finditer(normalise(value or "")):
        if m.group("cjk"):
            yield "cjk", m.group("cjk")
        else:
            yield "word", m.group("word")[:MAX_WORD_CHARS]


def _bigrams(run: str) -> list[str]:
    return [run[i:i + 2] for i in range(len(run) - 1)]


def tokenise(value: str) -> list[str]:
    """The index tokens of a text, in order: CJK bigrams (+ each run's last char) and whole words."""
    tokens: list[str] = []
    for kind, run in _runs(value):
        if kind == "word" or len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(_bigrams(run))
            tokens.append(run[-1])
    return tokens


@dataclass(frozen=True)
class Term:
    """One query term: a phrase of consecutive bigrams, a one-character prefix, or a whole word."""

    kind: str                 # "phrase" | "prefix" | "word"
    tokens: tuple[str, ...]
    literal: str              # the normalised text it stands for, for highlighting


def parse_query(q: str | None) -> list[Term]:
    """Split a query into terms; 400 when it is empty, too long or has nothing searchable."""
    q = (q or "").strip()
    if not q:
        raise ApiError(400, "query_required", "请输入查询内容", "Enter something to search for")
    if len(q) > MAX_QUERY_CHARS:
        raise ApiError(400, "query_too_long", f"查询内容过长，最多 {MAX_QUERY_CHARS} 个字",
                       f"The query is too long (at most {MAX_QUERY_CHARS} characters)",
                       max_length=MAX_QUERY_CHARS)
    terms: list[Term] = []
    for kind, run in _runs(q):
        if kind == "word":
            term = Term("word", (run,), run)
        elif len(run) == 1:
            term = Term("prefix", (run,), run)
        else:
            term = Term("phrase", tuple(_bigrams(run)), run)
        if term not in terms:
            terms.append(term)
    if not terms:
        raise ApiError(400, "query_unsearchable", "查询内容需包含汉字、字母或数字",
                       "The query needs Chinese characters, letters or digits")
    if len(terms) > MAX_TERMS:
        raise ApiError(400, "query_too_many_terms", f"查询词过多，最多 {MAX_TERMS} 个",
                       f"Too many search terms (at most {MAX_TERMS})", max_terms=MAX_TERMS)
    return terms


# --- backends ------------------------------------------------------------------------------------

FIELDS = ("title", "address", "text")


def scope_token(path: str) -> str:
    """The index token standing for "inside this org unit's subtree": org_ja05g03.

    tokenise() never yields "_", so no query text can produce or match a scope token.
    """
    code = path.rstrip("/").rsplit("/", 1)[-1]
    return "org_" + re.sub(r"[^0-9a-z]", "", code.lower())


def scope_tokens(org_path: str) -> list[str]:
    """A record's scope tokens: one per ancestor below the district root (and its own unit).

    They let the full-text index itself intersect matches with the caller's subtrees, so a grid
    worker's query never walks the whole district's matches. Scope is still *enforced* by
    app.services.scope.scope_clause on org_path; these tokens only make it fast.
    """
    parts = [p for p in org_path.strip("/").split("/") if p]
    return [scope_token("/".join(parts[:i])) for i in range(2, len(parts) + 1)]


def _scope_roots(paths: Iterable[str]) -> list[str] | None:
    """Scope tokens for the query, or None when a root is the whole district (nothing to narrow)."""
    tokens = []
    for path in paths:
        if path.strip("/").count("/") == 0:
            return None
        tokens.append(scope_token(path))
    return tokens


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

    def create_ddl(self, connection) -> None:
        for statement in _SQLITE_DDL:
            connection.execute(text(statement))

    def drop_ddl(self, connection) -> None:
        connection.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))


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


# --- writing the index ---------------------------------------------------------------------------

def _aware(at: datetime | None) -> datetime:
    if at is None:
        return utcnow()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _row(record: SearchableRecord, backend, now: datetime) -> dict:
    values = {
        "title": (record.title or "")[:TITLE_CHARS],
        "address": (record.address or "")[:ADDRESS_CHARS],
        "text": (record.text or "")[:TEXT_CHARS],
    }
    if not record.org_path or not record.org_path.startswith("/"):
        raise ValueError(f"searchable record {record.tool}/{record.type}/{record.id} has no org path")
    streams = {field: tokenise(values[field]) for field in FIELDS}
    streams["scope"] = scope_tokens(record.org_path)
    return {
        "p_tool": record.tool, "p_type": record.type, "p_record_id": str(record.id),
        "p_org_path": record.org_path, "p_title": values["title"], "p_address": values["address"],
        "p_text": values["text"], "p_status": record.status or "", "p_updated_at": _aware(record.updated_at),
        "p_indexed_at": now, "p_tokens": backend.tokens_value(streams),
    }


def _upsert_statement(backend):
    insert = postgresql.insert if backend.name == "postgresql" else sqlite.insert
    columns = ("tool", "type", "record_id", "org_path", "title", "address", "text", "status",
               "updated_at", "indexed_at")
    values = {c: bindparam(f"p_{c}") for c in columns}
    values["tokens"] = backend.bind_tokens(bindparam("p_tokens"))
    stmt = insert(SearchDoc.__table__).values(**values)
    changed = {c: stmt.excluded[c] for c in (*columns[3:], "tokens")}
    return stmt.on_conflict_do_update(index_elements=["tool", "type", "record_id"], set_=changed)


def index_records(records: Iterable[SearchableRecord], *, now: datetime | None = None) -> int:
    """Upsert records into the index in the current session (the caller commits)."""
    backend = current_backend()
    now = now or utcnow()
    rows = [_row(r, backend, now) for r in records]
    if rows:
        db.session.execute(_upsert_statement(backend), rows)
    return len(rows)


def unindex(tool: str, type_: str, record_id) -> None:
    """Remove one record from the index (current session; the caller commits)."""
    db.session.execute(delete(SearchDoc).where(
        SearchDoc.tool == tool, SearchDoc.type == type_, SearchDoc.record_id == str(record_id)))


def _on_searchable_saved(sender, record: SearchableRecord | None = None, **kwargs) -> None:
    if record is None:
        raise TypeError("searchable_saved needs record=SearchableRecord(...)")
    index_records([record])


def _on_searchable_deleted(sender, type: str | None = None, id=None,  # noqa: A002 - the signal's contract
                           record: SearchableRecord | None = None, **kwargs) -> None:
    if record is not None:
        unindex(record.tool, record.type, record.id)
    elif type is not None and id is not None:
        unindex(sender, type, id)
    else:
        raise TypeError("searchable_deleted needs type= and id= (or record=)")


searchable_saved.connect(_on_searchable_saved, weak=False)
searchable_deleted.connect(_on_searchable_deleted, weak=False)


# --- querying ------------------------------------------------------------------------------------

_QUALITY_NAMES = {3: "title", 2: "address", 1: "text"}


@dataclass
class SearchFilters:
    tool: str | None = None
    status: str | None = None
    org_path: str | None = None     # a unit's path: only that subtree (the caller checks scope)
    since: datetime | None = None   # updated_at >= since
    until: datetime | None = None   # updated_at < until


def search(user, q: str, filters: SearchFilters | None = None, page: int = 1, per_page: int = 20) -> dict:
    """Records matching q inside the user's data scope: a page of results, facets and total."""
    terms = parse_query(q)
    filters = filters or SearchFilters()
    backend = current_backend()
    scopes = [_scope_roots(scope_paths(user, *SEARCH_ROLES))]
    if filters.org_path:
        scopes.append(_scope_roots([filters.org_path]))
    where = [backend.match(terms, [s for s in scopes if s]),
             scope_clause(SearchDoc.org_path, user, *SEARCH_ROLES)]
    if filters.org_path:
        where.append(SearchDoc.org_path.startswith(filters.org_path, autoescape=True))
    if filters.since is not None:
        where.append(SearchDoc.updated_at >= filters.since)
    if filters.until is not None:
        where.append(SearchDoc.updated_at < filters.until)

    # One statement, one pass over the matches: grouped counts (total and both facets) and the
    # ranked page. Each facet ignores its own filter, so a client can show the other choices.
    quality = backend.quality(terms).label("quality")
    matched = select(SearchDoc.id, SearchDoc.tool, SearchDoc.status, SearchDoc.updated_at, quality) \
        .where(*where).cte("matched")
    page_rows = select(matched)
    if filters.tool is not None:
        page_rows = page_rows.where(matched.c.tool == filters.tool)
    if filters.status is not None:
        page_rows = page_rows.where(matched.c.status == filters.status)
    page_rows = page_rows.order_by(matched.c.quality.desc(), matched.c.updated_at.desc(), matched.c.id.desc()) \
        .limit(per_page).offset((page - 1) * per_page).subquery()
    rows = db.session.execute(union_all(
        select(matched.c.tool, matched.c.status, func.count().label("n"), cast(null(), BigInteger).label("id"),
               cast(null(), Integer).label("quality"), cast(null(), DateTime(timezone=True)).label("updated_at"))
        .group_by(matched.c.tool, matched.c.status),
        select(page_rows.c.tool, page_rows.c.status, cast(null(), BigInteger), page_rows.c.id, page_rows.c.quality,
               page_rows.c.updated_at),
    )).all()

    by_tool: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    total = 0
    hits: list[tuple[int, int, datetime]] = []
    for tool, status, n, doc_id, doc_quality, updated_at in rows:
        if doc_id is not None:
            hits.append((doc_id, doc_quality, _aware(updated_at)))
            continue
        tool_ok = filters.tool is None or tool == filters.tool
        status_ok = filters.status is None or status == filters.status
        if status_ok:
            by_tool[tool] += n
        if tool_ok:
            by_status[status] += n
        if tool_ok and status_ok:
            total += n
    docs = {d.id: d for d in db.session.execute(
        select(SearchDoc).where(SearchDoc.id.in_([h[0] for h in hits]))).scalars()} if hits else {}
    hits.sort(key=lambda h: (h[1], h[2], h[0]), reverse=True)  # UNION ALL promises no order
    items = _results([(docs[doc_id], doc_quality) for doc_id, doc_quality, _ in hits if doc_id in docs], terms)
    return {
        "query": q.strip(),
        "terms": [t.literal for t in terms],
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": (total + per_page - 1) // per_page,
        "facets": {
            "tool": _facet(by_tool, _tool_names()),
            "status": _facet(by_status, {}),
        },
    }


def _facet(counter: Counter, names: dict[str, str]) -> list[dict]:
    return [{"value": value, "name": names.get(value, value), "count": count}
            for value, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])) if count]


def _tool_names() -> dict[str, str]:
    from flask import current_app

    names = {"work_items": "工单"}
    registry = current_app.extensions.get("toolbox")
    for tool in registry or ():
        names[tool.code] = tool.manifest.name
    return names


def _results(rows, terms: list[Term]) -> list[dict]:
    from app.models.org import OrgUnit

    paths = {doc.org_path for doc, _ in rows}
    units = {u.path: u for u in db.session.execute(select(OrgUnit).where(OrgUnit.path.in_(paths))).scalars()}
    names = _tool_names()
    results = []
    for doc, quality in rows:
        unit = units.get(doc.org_path)
        code = doc.org_path.rstrip("/").rsplit("/", 1)[-1]
        results.append({
            "tool": doc.tool,
            "tool_name": names.get(doc.tool, doc.tool),
            "type": doc.type,
            "id": doc.record_id,
            "title": doc.title,
            "snippet": snippet(doc, terms),
            "matched_in": _QUALITY_NAMES[quality],
            "status": doc.status,
            "org_unit": unit.to_summary() if unit else {"id": None, "code": code, "name": code, "level": None},
            "updated_at": _aware(doc.updated_at).isoformat(),
        })
    return results


# --- snippets ------------------------------------------------------------------------------------

def _normalised_with_map(value: str) -> tuple[str, list[int]]:
    """normalise(value) char by char, with each output char's index in value."""
    if unicodedata.is_normalized("NFKC", value):
        folded = value.casefold()  # case-folding never merges characters
        if len(folded) == len(value):
            return folded, list(range(len(value)))  # the usual case: one char for one char
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(value):
        for n in normalise(ch):
            out.append(n)
            index.append(i)
    return "".join(out), index


def highlight_spans(value: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Where the terms occur in value: merged (start, end) spans in value's own indices."""
    norm, index = _normalised_with_map(value)
    spans = []
    for term in terms:
        start = norm.find(term.literal)
        while start != -1:
            end = start + len(term.literal)
            whole = term.kind != "word" or (
                (start == 0 or not _WORD_CHAR.match(norm[start - 1]))
                and (end == len(norm) or not _WORD_CHAR.match(norm[end])))
            if whole:
                spans.append((index[start], index[end - 1] + 1))
            start = norm.find(term.literal, start + 1)
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _mask_mobiles(value: str) -> str:
    """Mobile numbers in free text are personal data: shown masked (same length, so spans hold)."""
    return _MOBILE.sub(lambda m: mask_mobile(m.group()), value)


def snippet(doc, terms: list[Term], width: int = SNIPPET_CHARS) -> str:
    """HTML-safe text around the first match, matches wrapped in <em>…</em>.

    Taken from the field where most terms occur (address, then text, then title on a tie).
    """
    best = None
    for field in ("address", "text", "title"):
        value = getattr(doc, field) or ""
        spans = highlight_spans(value, terms)
        found = sum(1 for t in terms if any(normalise(value[s:e]).find(t.literal) != -1 for s, e in spans))
        if best is None or found > best[0]:
            best = (found, value, spans)
    _, value, spans = best
    if not value:
        value = doc.address or doc.text or doc.title or ""
    value = _mask_mobiles(value)
    start = max(0, spans[0][0] - width // 3) if spans else 0
    end = min(len(value), start + width)
    start = max(0, min(start, end - width))
    parts = ["…" if start > 0 else ""]
    cursor = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        parts.append(str(escape(value[cursor:s])))
        parts.append(HIGHLIGHT_PRE + str(escape(value[s:e])) + HIGHLIGHT_POST)
        cursor = e
    parts.append(str(escape(value[cursor:end])))
    parts.append("…" if end < len(value) else "")
    return "".join(parts)


# --- rebuilding ----------------------------------------------------------------------------------

_SOURCES: dict[str, Callable[[], Iterable[SearchableRecord]]] = {}


def register_source(name: str, records: Callable[[], Iterable[SearchableRecord]]) -> None:
    """Add a non-tool source of searchable records for reindex (e.g. the workflow's work items).

    name is the tool code its records carry ("work_items"); records() yields SearchableRecords.
    """
    _SOURCES[name] = records


def sources() -> dict[str, Callable[[], Iterable[SearchableRecord]]]:
    """Every source reindex reads: registered tools with search_documents, then registered sources."""
    from flask import current_app

    found: dict[str, Callable[[], Iterable[SearchableRecord]]] = {}
    for tool in current_app.extensions.get("toolbox") or ():
        if tool.search_documents is not None:
            found[tool.code] = tool.search_documents
    for name, factory in _SOURCES.items():
        found.setdefault(name, factory)
    return found


REINDEX_BATCH = 1000


def rebuild(only: Iterable[str] | None = None, *, prune: bool = False,
            progress: Callable[[dict], None] | None = None) -> dict:
    """Rebuild the index from its sources; commits per batch so the index stays usable meanwhile.

    Each source's records are upserted; then that source's documents that were not rewritten
    (records deleted while nobody announced it) are removed. prune also removes documents of
    tools that no source provides. progress(dict) is called after each batch.
    """
    available = sources()
    names = list(only) if only else list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(f"no search source named {', '.join(unknown)}; known: {', '.join(sorted(available))}")
    started = utcnow()
    # Sources are generators of unknown length: the current index size is the estimate of the total.
    estimate = db.session.execute(
        select(func.count()).select_from(SearchDoc).where(SearchDoc.tool.in_(names))).scalar_one()
    state = {"source": None, "done": 0, "total": estimate, "sources": names,
             "indexed": {}, "removed": 0}

    def report():
        if progress is not None:
            progress(dict(state))

    report()
    for name in names:
        state["source"] = name
        count = 0
        batch: list[SearchableRecord] = []
        for record in available[name]():
            batch.append(record)
            if len(batch) >= REINDEX_BATCH:
                count += index_records(batch, now=started)
                db.session.commit()
                state["done"] += len(batch)
                state["total"] = max(state["total"], state["done"])
                batch = []
                report()
        if batch:
            count += index_records(batch, now=started)
            state["done"] += len(batch)
        removed = db.session.execute(delete(SearchDoc).where(
            SearchDoc.tool == name, SearchDoc.indexed_at < started)).rowcount
        db.session.commit()
        state["indexed"][name] = count
        state["removed"] += removed
        log.info("reindex %s: %d documents written, %d stale removed", name, count, removed)
        state["total"] = max(state["total"], state["done"])
        report()
    if prune:
        removed = db.session.execute(delete(SearchDoc).where(SearchDoc.tool.not_in(list(available)))).rowcount
        db.session.commit()
        state["removed"] += removed
    state["source"] = None
    state["finished"] = True
    report()
    return state


@job("default", timeout=6 * 3600)
def reindex_job(only: list[str] | None = None, prune: bool = False) -> dict:
    """rebuild() as an RQ job; progress in job.meta["progress"]."""
    from rq import get_current_job

    current = get_current_job()

    def progress(state: dict) -> None:
        if current is not None:
            current.meta["progress"] = state
            current.save_meta()

    return rebuild(only, prune=prune, progress=progress)
