"""Querying: records matching a query inside the caller's data scope, ranked by match quality (the
whole query in the title, else in the address, else anywhere) then by recency, with facets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.sql.util import ClauseAdapter

from app.extensions import db
from app.models.org import OrgUnit
from app.models.search import SearchDoc
from app.registry import current_registry
from app.services.like import starts_with
from app.services.scope import scope_clause, scope_paths
from app.services.search.backends import current_backend
from app.services.search.indexing import aware
from app.services.search.snippets import snippet
from app.services.search.tokens import Term, parse_query, scope_roots
from app.services.search.vocabulary import status_labels

#: Roles whose units define what one-click query shows. The separated admins (security, audit)
#: manage people and logs, not the district's records.
SEARCH_ROLES = ("worker", "operator", "manager")  # business roles only: the three admins search nothing (三员分立)
_QUALITY_NAMES = {3: "title", 2: "address", 1: "text"}
#: Totals and facets are exact up to this many matches, lower bounds ("1000+") above.
TOTAL_CAP = 1000
#: A capped query's page is looked for first among this many newest documents in scope.
RECENT_WINDOW = 2000


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
    match = backend.match(terms, [s for s in scopes if s])
    where = [match, scope_clause(SearchDoc.org_path, user, *SEARCH_ROLES)]
    if filters.org_path:
        where.append(starts_with(SearchDoc.org_path, filters.org_path))
    if filters.since is not None:
        where.append(SearchDoc.updated_at >= filters.since)
    if filters.until is not None:
        where.append(SearchDoc.updated_at < filters.until)

    counts = _capped_counts(backend, terms, where, filters)
    if counts.capped:
        hits = _ranked_page_by_tier(backend, terms, match, where[1:] + _page_filters(filters), page, per_page)
    else:  # every match is in the sample: rank it here
        ranked = sorted(counts.page_rows, key=lambda h: (h[1], h[2], h[0]), reverse=True)
        hits = ranked[(page - 1) * per_page:page * per_page]
    by_tool, by_status, total = counts.by_tool, counts.by_status, counts.total
    docs = {d.id: d for d in db.session.execute(
        select(SearchDoc).where(SearchDoc.id.in_([h[0] for h in hits]))).scalars()} if hits else {}
    hits.sort(key=lambda h: (h[1], h[2], h[0]), reverse=True)  # IN (…) promises no order
    items = _results([(docs[doc_id], doc_quality) for doc_id, doc_quality, _ in hits if doc_id in docs], terms)
    return {
        "query": q.strip(),
        "terms": [t.literal for t in terms],
        "items": items,
        "total": total,
        # Above TOTAL_CAP matches the total and the facet counts are lower bounds ("1000+"): counting
        # every match of a broad district query would make it linear in the matches.
        "total_capped": counts.capped,
        "total_text": f"{total}+" if counts.capped else str(total),
        "facets_capped": counts.facets_capped,
        "page": page,
        "per_page": per_page,
        "pages": (total + per_page - 1) // per_page,
        "facets": {
            "tool": _facet(by_tool, _tool_names()),
            "status": _facet(by_status, status_labels()),
        },
    }


@dataclass
class _Counts:
    by_tool: Counter
    by_status: Counter
    total: int
    capped: bool          # the total is a lower bound
    facets_capped: bool   # the facet counts are lower bounds
    page_rows: list       # (id, quality, updated_at) of every match passing the filters, when not capped


def _capped_counts(backend, terms, where: list, filters: SearchFilters) -> _Counts:
    """Total and facets, exact up to TOTAL_CAP matches; above it, counts of the first TOTAL_CAP + 1
    matches the database finds (each a lower bound) and a total of TOTAL_CAP, flagged capped.

    One pass over at most TOTAL_CAP + 1 matches, which also brings their quality and time, so that a
    query under the cap is ranked from these rows without a second statement. Each facet ignores its
    own filter, so a client can show the other choices.
    """
    cap = TOTAL_CAP
    quality = backend.quality(terms).label("quality")
    sample = db.session.execute(select(SearchDoc.id, SearchDoc.tool, SearchDoc.status, quality, SearchDoc.updated_at)
                                .where(*where).limit(cap + 1)).all()
    by_tool: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    passing = []
    for doc_id, tool, status, doc_quality, updated_at in sample:
        tool_ok = filters.tool is None or tool == filters.tool
        status_ok = filters.status is None or status == filters.status
        if status_ok:
            by_tool[tool] += 1
        if tool_ok:
            by_status[status] += 1
        if tool_ok and status_ok:
            passing.append((doc_id, doc_quality, aware(updated_at)))
    total = len(passing)
    capped = facets_capped = len(sample) > cap
    if capped and (filters.tool is not None or filters.status is not None):
        # the sample saw only part of the matches: count the filtered ones on their own, capped too
        filtered = select(SearchDoc.id).where(*where, *_page_filters(filters)).limit(cap + 1).subquery()
        total = db.session.execute(select(func.count()).select_from(filtered)).scalar_one()
        capped = total > cap
        if not capped:
            passing = [(i, q, aware(at)) for i, q, at in db.session.execute(
                select(SearchDoc.id, quality, SearchDoc.updated_at).where(*where, *_page_filters(filters)))]
    return _Counts(by_tool, by_status, min(total, cap), capped, facets_capped, [] if capped else passing)


def _page_filters(filters: SearchFilters) -> list:
    conditions = []
    if filters.tool is not None:
        conditions.append(SearchDoc.tool == filters.tool)
    if filters.status is not None:
        conditions.append(SearchDoc.status == filters.status)
    return conditions


def _ranked_page_by_tier(backend, terms, match, narrowing: list, page: int, per_page: int) -> list[tuple]:
    """The same page without ranking every match: the ranking is match quality, then recency, so the first
    page * per_page of each quality tier, newest first, give it exactly; a lower tier is read only when
    the higher ones do not fill the page."""
    wanted = page * per_page
    found: list[tuple[int, int, datetime]] = []
    for quality, condition in backend.quality_tiers(terms):
        found += [(doc_id, quality, aware(at)) for doc_id, at in
                  _newest_in_tier(match, condition, narrowing, wanted - len(found))]
        if len(found) >= wanted:
            break
    return found[(page - 1) * per_page:wanted]


def _newest_in_tier(match, tier, narrowing: list, n: int) -> list:
    """The n newest matches of one tier.

    First among the RECENT_WINDOW newest documents in scope (walked along ix_search_doc_updated_at,
    a bounded cost): if n matches are there, they are the n newest of all, since every newer match is
    in the window too. Otherwise the tier's matches are sparse, so all of them are few enough to sort
    (coalesce() keeps the planner off the updated_at walk, which could read the whole table).
    """
    recent = select(SearchDoc.id, SearchDoc.updated_at, SearchDoc.tokens).where(*narrowing) \
        .order_by(SearchDoc.updated_at.desc(), SearchDoc.id.desc()).limit(RECENT_WINDOW).subquery()
    windowed = ClauseAdapter(recent).traverse(and_(match, tier))  # the same conditions on the window's columns
    rows = db.session.execute(select(recent.c.id, recent.c.updated_at).where(windowed)
                              .order_by(recent.c.updated_at.desc(), recent.c.id.desc()).limit(n)).all()
    if len(rows) >= n:
        return rows
    return db.session.execute(
        select(SearchDoc.id, SearchDoc.updated_at).where(match, tier, *narrowing)
        .order_by(func.coalesce(SearchDoc.updated_at, SearchDoc.updated_at).desc(), SearchDoc.id.desc())
        .limit(n)).all()


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
    names, labels = _tool_names(), status_labels()
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
            "status_name": labels.get(doc.status, doc.status),
            "org_unit": unit.to_summary() if unit else {"id": None, "code": code, "name": code, "level": None},
            "updated_at": aware(doc.updated_at).isoformat(),
        })
    return results
