"""The query index is complete after any rebuild, and `status` is one vocabulary across sources."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.search import SearchDoc
from app.services.search import rebuild, sources, vocabulary
from app.services.search.vocabulary import VocabularyConflict, check_vocabulary, status_labels


def per_source() -> dict[str, int]:
    return dict(db.session.execute(select(SearchDoc.tool, func.count()).group_by(SearchDoc.tool)).all())


@pytest.fixture
def demo(app, district):
    from app.services.demo import seed_demo
    with app.app_context():
        seed_demo()
        db.session.commit()


def test_the_demo_district_index_after_rebuild_and_its_one_status_vocabulary(app, client, auth, demo):
    # One demo district (slow to seed) for the three checks.
    with app.app_context():
        rebuild_with_prune_keeps_every_live_record_of_every_source()
        every_status_in_the_index_is_a_code_of_the_one_dictionary()
    the_status_filter_and_facet_read_the_same_across_sources(client, auth)


def rebuild_with_prune_keeps_every_live_record_of_every_source():
    before = per_source()
    assert set(before) == set(sources()) and "work_items" in before and all(before.values())
    db.session.execute(SearchDoc.__table__.delete())   # the index lost, or never built on this host
    db.session.commit()
    state = rebuild(prune=True)
    assert per_source() == before
    assert state["indexed"] == before
    assert rebuild(prune=True)["removed"] == 0 and per_source() == before   # again: nothing pruned


def every_status_in_the_index_is_a_code_of_the_one_dictionary():
    labels = status_labels()
    used = set(db.session.execute(select(SearchDoc.status).distinct()).scalars()) - {None}
    assert used and used <= set(labels), used - set(labels)
    assert not used & set(labels.values())   # labels never stand in for codes


def the_status_filter_and_facet_read_the_same_across_sources(client, auth):
    headers = auth.headers("ja-operator")
    body = client.get("/api/v1/query", query_string={"q": "路", "per_page": 50}, headers=headers).get_json()
    facets = {f["value"]: f["name"] for f in body["facets"]["status"]}
    assert facets["handling"] == "处置中" and "处置中" not in facets
    handling = client.get("/api/v1/query", query_string={"q": "路", "status": "handling", "per_page": 50},
                          headers=headers).get_json()
    assert {i["tool"] for i in handling["items"]} >= {"work_items", "citizen_report"}
    assert {(i["status"], i["status_name"]) for i in handling["items"]} == {("handling", "处置中")}


def test_a_tool_may_not_give_a_known_code_another_label(monkeypatch):
    monkeypatch.setattr(vocabulary, "_sources", lambda: iter([("workflow", {"closed": "已办结"}),
                                                              ("sites", {"closed": "已关闭"})]))
    with pytest.raises(VocabularyConflict, match="closed"):
        check_vocabulary()


def test_the_registered_tools_agree_on_the_vocabulary(app, ctx):
    assert check_vocabulary()["visiting"] == "待回访"
