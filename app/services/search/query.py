"""Querying: records matching a query inside the caller's data scope, ranked by match quality (the
whole query in the title, else in the address, else anywhere) then by recency, with facets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, cast, func, null, select, union_all

from app.extensions import UTCDateTime, db
from app.models.org import OrgUnit
from app.models.search import SearchDoc
from app.registry import current_registry
from app.services.like import starts_with
from app.services.scope import scope_clause, scope_paths
from app.services.search.backends import current_backend
from app.services.search.indexing import aware
from app.services.search.snippets import snippet
from app.services.search.tokens import Term, parse_query, scope_roots

#: Roles whose units define what one-click query shows. The separated admins (security, audit)
#: manage people and logs, not the district's records.
SEARCH_ROLES = ("worker", "operator", "manager")  # business roles only: the three admins search nothing (三员分立)
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
    scopes = [scope_roots(scope_paths(user, *SEARCH_ROLES))]
    if filters.org_path:
        scopes.append(scope_roots([filters.org_path]))
    where = [backend.match(terms, [s for s in scopes if s]),
             scope_clause(SearchDoc.org_path, user, *SEARCH_ROLES)]
    if filters.org_path:
        where.append(starts_with(SearchDoc.org_path, filters.org_path))
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
               cast(null(), Integer).label("quality"), cast(null(), UTCDateTime()).label("updated_at"))
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
            hits.append((doc_id, doc_quality, aware(updated_at)))
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
    names = {"work_items": "工单"}
    for tool in current_registry():
        names[tool.code] = tool.manifest.name
    return names


def _results(rows, terms: list[Term]) -> list[dict]:
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
            "updated_at": aware(doc.updated_at).isoformat(),
        })
    return results
