"""paginate(): a COUNT only when the page cannot tell the total itself."""

from __future__ import annotations

import pytest

from tests.fixtures import statements


def counts(seen):
    return [s for s in seen if "count(" in s.lower()]


@pytest.mark.parametrize(("query", "total", "items", "counted"), [
    ("per_page=20", 14, 14, False),          # the first page is not full: its rows are the total
    ("per_page=5&page=3", 14, 4, False),     # a short last page: offset + rows
    ("per_page=5", 14, 5, True),             # a full page: more may follow
    ("per_page=7&page=2", 14, 7, True),      # full, and exactly the last: still counted
    ("per_page=5&page=9", 14, 0, True),      # past the end: counted, so pages stays true
])
def test_total_without_count_when_the_page_is_short(app, client, district, auth, query, total, items, counted):
    headers = auth.headers("ja01g01-worker")
    client.get("/api/v1/me", headers=headers)
    with statements(app) as seen:
        body = client.get(f"/api/v1/org-units?level=street&{query}", headers=headers).get_json()
    assert (body["total"], len(body["items"]), body["pages"]) == (total, items, (total + body["per_page"] - 1)
                                                                   // body["per_page"])
    assert bool(counts(seen)) is counted
