"""One-click query: tokenising, scope, freshness through the signals, ranking, and the HTTP contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.errors import ApiError
from app.extensions import db
from app.models.search import SearchDoc
from app.services.search import parse_query, tokenise
from app.signals import SearchableRecord, searchable_deleted, searchable_saved

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def rec(id, title, *, tool="construction_sites", type="site", path="/JA/JA01/JA01G01/", address="", text="",
        status="open", at=T0):
    return SearchableRecord(tool=tool, type=type, id=str(id), org_path=path, title=title, address=address,
                            text=text, status=status, updated_at=at)


def publish(app, *records):
    """What a writer does: announce each record inside its transaction, then commit."""
    with app.app_context():
        for r in records:
            searchable_saved.send(r.tool, record=r)
        db.session.commit()


def query(client, headers, q, **params):
    response = client.get("/api/v1/query", query_string={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(body):
    return [item["id"] for item in body["items"]]


# --- tokenising ----------------------------------------------------------------------------------

def test_tokenise_gives_cjk_bigrams_with_the_last_character_and_whole_words():
    assert tokenise("共和新路1234号") == ["共和", "和新", "新路", "路", "1234", "号"]
    assert tokenise("JA-2026-000123 B2栋") == ["ja", "2026", "000123", "b2", "栋"]


def test_tokenise_normalises_full_width_and_case():
    assert tokenise("ＡＢＣ１２３４") == tokenise("abc1234") == ["abc1234"]


def test_query_terms_are_phrases_prefixes_or_words():
    terms = parse_query("共和新路 1234 路")
    assert [(t.kind, t.tokens) for t in terms] == [
        ("phrase", ("共和", "和新", "新路")), ("word", ("1234",)), ("prefix", ("路",))]


@pytest.mark.parametrize("q, code", [
    ("", "query_required"), ("   ", "query_required"), ("！？。", "query_unsearchable"),
    ("路" * 51, "query_too_long"), (" ".join("abcdefghijk"), "query_too_many_terms"),
])
def test_unusable_queries_are_refused(q, code):
    with pytest.raises(ApiError) as err:
        parse_query(q)
    assert err.value.status == 400 and err.value.code == code


@pytest.fixture
def grid_worker(district, auth):
    return auth.headers("ja01g01-worker")


def test_road_name_finds_the_full_address(app, client, grid_worker):
    publish(app, rec(1, "小型工地：共和新路1234号外立面改造", address="共和新路1234号"),
            rec(2, "南京西路88号", address="南京西路88号"))
    assert ids(query(client, grid_worker, "共和新路")) == ["1"]
    assert ids(query(client, grid_worker, "1234")) == ["1"]
    assert ids(query(client, grid_worker, "共和新路1234号")) == ["1"]
    assert ids(query(client, grid_worker, "ＪＡ")) == []


def test_numbers_and_words_match_whole_not_as_fragments(app, client, grid_worker):
    publish(app, rec(1, "共和新路1234号"), rec(2, "共和新路12345号"))
    assert ids(query(client, grid_worker, "1234")) == ["1"]
    assert ids(query(client, grid_worker, "123")) == []


def test_cjk_query_must_occur_consecutively(app, client, grid_worker):
    publish(app, rec(1, "共和路旁的新路口"), rec(2, "共和新路口"))
    assert ids(query(client, grid_worker, "共和新路")) == ["2"]


def test_single_character_finds_it_anywhere_in_a_word(app, client, grid_worker):
    publish(app, rec(1, "延长路"), rec(2, "路灯损坏"), rec(3, "新闸桥"))
    assert sorted(ids(query(client, grid_worker, "路"))) == ["1", "2"]


def test_a_single_character_beside_other_terms_is_still_required(app, client, grid_worker):
    publish(app, rec(1, "共和新路1234号"), rec(2, "共和新路1234弄"), rec(3, "共和新路1234号楼"))
    assert sorted(ids(query(client, grid_worker, "共和新路1234号"))) == ["1", "3"]
    assert ids(query(client, grid_worker, "1234弄")) == ["2"]


def test_terms_are_all_required(app, client, grid_worker):
    publish(app, rec(1, "共和新路工地", text="脚手架未设防护网"), rec(2, "共和新路工地", text="围挡破损"))
    assert ids(query(client, grid_worker, "共和新路 脚手架")) == ["1"]


def test_work_item_number_finds_the_item(app, client, grid_worker):
    publish(app, rec(7, "JA-2026-000123 共和新路积水", tool="work_items", type="work_item"),
            rec(8, "JA-2026-000124 共和新路积水", tool="work_items", type="work_item"))
    assert ids(query(client, grid_worker, "JA-2026-000123")) == ["7"]
    assert ids(query(client, grid_worker, "000124")) == ["8"]


# --- scope ---------------------------------------------------------------------------------------

SCOPE_DOCS = {
    "district": "/JA/",
    "dept": "/JA/JA-D-JG/",
    "street1": "/JA/JA01/",
    "grid11": "/JA/JA01/JA01G01/",
    "committee111": "/JA/JA01/JA01G01/JA01G01C01/",
    "committee112": "/JA/JA01/JA01G01/JA01G01C02/",
    "grid12": "/JA/JA01/JA01G02/",
    "grid21": "/JA/JA02/JA02G01/",
}


@pytest.fixture
def scoped_docs(app, district):
    publish(app, *(rec(name, f"共和新路{i}号 {name}", path=path) for i, (name, path) in enumerate(SCOPE_DOCS.items())))


@pytest.mark.parametrize("userid, visible", [
    ("ja-operator", set(SCOPE_DOCS)),
    ("ja-manager", set(SCOPE_DOCS)),
    ("ja-d-jg-operator", {"dept"}),
    ("ja01-operator", {"street1", "grid11", "committee111", "committee112", "grid12"}),
    ("ja01g01-worker", {"grid11", "committee111", "committee112"}),
    ("ja01g01c01-worker", {"committee111"}),
    ("ja02g01-worker", {"grid21"}),
])
def test_users_at_every_level_see_only_their_subtree(client, auth, scoped_docs, userid, visible):
    body = query(client, auth.headers(userid), "共和新路", per_page=50)
    assert set(ids(body)) == visible
    assert body["total"] == len(visible)
    assert sum(f["count"] for f in body["facets"]["tool"]) == len(visible)


def test_a_user_with_two_memberships_sees_both_subtrees(client, auth, scoped_docs, make_user):
    make_user("two-hats", ("JA01G02", "worker"), ("JA02", "operator"))
    assert set(ids(query(client, auth.headers("two-hats"), "共和新路"))) == {"grid12", "grid21"}


def test_separated_admin_roles_do_not_widen_the_scope(client, auth, scoped_docs, make_user):
    make_user("worker-and-auditor", ("JA01G02", "worker"), ("JA", "audit_admin"))
    assert ids(query(client, auth.headers("worker-and-auditor"), "共和新路")) == ["grid12"]
    for admin in ("ja-admin", "ja-secadmin", "ja-auditor"):
        response = client.get("/api/v1/query?q=共和新路", headers=auth.headers(admin))
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "role_required"


def test_scope_tokens_in_the_index_cannot_be_searched_for(client, auth, scoped_docs):
    headers = auth.headers("ja-operator")
    for q in ("org_ja01g01", "orgja01g01", "org ja01g01"):
        assert query(client, headers, q)["total"] == 0


def test_org_filter_narrows_within_scope_and_refuses_outside(client, auth, scoped_docs):
    street = auth.headers("ja01-operator")
    assert set(ids(query(client, street, "共和新路", org="JA01G01"))) == {"grid11", "committee111", "committee112"}
    outside = client.get("/api/v1/query", query_string={"q": "共和新路", "org": "JA02"}, headers=street)
    assert outside.status_code == 403 and outside.get_json()["error"]["code"] == "out_of_scope"
    unknown = client.get("/api/v1/query", query_string={"q": "共和新路", "org": "NOPE"}, headers=street)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "org_unit_not_found"


# --- freshness -----------------------------------------------------------------------------------

def test_changes_and_deletes_are_searchable_at_once(app, client, grid_worker):
    publish(app, rec(1, "共和新路1234号工地", status="open"))
    assert ids(query(client, grid_worker, "共和新路")) == ["1"]

    publish(app, rec(1, "大统路55号工地", status="closed"))
    assert ids(query(client, grid_worker, "共和新路")) == []
    body = query(client, grid_worker, "大统路")
    assert ids(body) == ["1"] and body["items"][0]["status"] == "closed"

    with app.app_context():
        searchable_deleted.send("construction_sites", type="site", id="1")
        db.session.commit()
        assert db.session.execute(select(func.count()).select_from(SearchDoc)).scalar_one() == 0
    assert ids(query(client, grid_worker, "大统路")) == []


def test_a_rolled_back_write_leaves_the_index_untouched(app, client, grid_worker):
    publish(app, rec(1, "共和新路1234号工地"))
    with app.app_context():
        searchable_saved.send("construction_sites", record=rec(1, "大统路55号工地"))
        searchable_saved.send("construction_sites", record=rec(2, "大统路56号工地"))
        db.session.rollback()
    assert ids(query(client, grid_worker, "共和新路")) == ["1"]
    assert ids(query(client, grid_worker, "大统路")) == []


def test_the_same_id_in_two_tools_is_two_documents(app, client, grid_worker):
    publish(app, rec(1, "共和新路1号", tool="construction_sites"),
            rec(1, "共和新路1号", tool="flood_duty", type="point"))
    with app.app_context():
        searchable_deleted.send("flood_duty", type="point", id="1")
        db.session.commit()
    body = query(client, grid_worker, "共和新路")
    assert [(i["tool"], i["id"]) for i in body["items"]] == [("construction_sites", "1")]


# --- ranking -------------------------------------------------------------------------------------

def test_title_matches_rank_above_address_above_text_then_newest_first(app, client, grid_worker):
    publish(app,
            rec("text-new", "积水点", text="位于共和新路", at=T0 + timedelta(days=9)),
            rec("addr-old", "积水点", address="共和新路100号", at=T0),
            rec("title-old", "共和新路积水点", at=T0),
            rec("title-new", "共和新路下立交积水", at=T0 + timedelta(days=1)),
            rec("addr-new", "积水点", address="共和新路200号", at=T0 + timedelta(days=2)))
    body = query(client, grid_worker, "共和新路")
    assert ids(body) == ["title-new", "title-old", "addr-new", "addr-old", "text-new"]
    assert [i["matched_in"] for i in body["items"]] == ["title", "title", "address", "address", "text"]


# --- the HTTP contract -------------------------------------------------------------------------

def test_result_shape_with_highlighted_snippet_and_org_unit(app, client, grid_worker):
    publish(app, rec(1, "共和新路工地", address="共和新路1234号", text="联系人电话13912345678 <b>急</b>",
                     path="/JA/JA01/JA01G01/JA01G01C01/"))
    body = query(client, grid_worker, "1234")
    item = body["items"][0]
    assert item["snippet"] == "共和新路<em>1234</em>号"
    assert item["org_unit"]["code"] == "JA01G01C01" and item["org_unit"]["level"] == "committee"
    assert item["tool"] == "construction_sites" and item["type"] == "site" and item["status"] == "open"
    assert datetime.fromisoformat(item["updated_at"]) == T0
    assert body["terms"] == ["1234"] and body["total"] == 1 and body["pages"] == 1
    text_hit = query(client, grid_worker, "急")["items"][0]["snippet"]
    assert text_hit == "联系人电话139****5678 &lt;b&gt;<em>急</em>&lt;/b&gt;"


def test_long_text_snippet_is_cut_around_the_match(app, client, grid_worker):
    publish(app, rec(1, "巡查记录", text="甲" * 100 + "脚手架" + "乙" * 100))
    snippet = query(client, grid_worker, "脚手架")["items"][0]["snippet"]
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<em>脚手架</em>" in snippet and len(snippet) < 80


def test_filters_and_facets(app, client, grid_worker):
    publish(app,
            rec(1, "共和新路工地", tool="construction_sites", status="open", at=T0),
            rec(2, "共和新路工地", tool="construction_sites", status="closed", at=T0 + timedelta(days=3)),
            rec(3, "共和新路积水点", tool="flood_duty", type="point", status="open", at=T0 + timedelta(days=5)))
    body = query(client, grid_worker, "共和新路", tool="construction_sites")
    assert sorted(ids(body)) == ["1", "2"] and body["total"] == 2
    # each facet ignores its own filter, so the other tools stay visible with their counts
    assert {f["value"]: f["count"] for f in body["facets"]["tool"]} == {"construction_sites": 2, "flood_duty": 1}
    assert {f["value"]: f["count"] for f in body["facets"]["status"]} == {"open": 1, "closed": 1}
    assert ids(query(client, grid_worker, "共和新路", tool="construction_sites", status="open")) == ["1"]
    # dates are Shanghai days; "to" includes the whole day
    # (record 2 is at 2026-11-04 16:00 Shanghai time)
    assert sorted(ids(query(client, grid_worker, "共和新路", **{"from": "2026-11-04"}))) == ["2", "3"]
    assert sorted(ids(query(client, grid_worker, "共和新路", **{"from": "2026-11-05"}))) == ["3"]
    assert sorted(ids(query(client, grid_worker, "共和新路", to="2026-11-04"))) == ["1", "2"]
    assert sorted(ids(query(client, grid_worker, "共和新路", to="2026-11-03"))) == ["1"]
    assert ids(query(client, grid_worker, "共和新路", **{"from": "2026-11-04T08:00:00+08:00",
                                                          "to": "2026-11-04T16:00:00Z"})) == ["2"]


def test_paging(app, client, grid_worker):
    publish(app, *(rec(i, f"共和新路{i}号", at=T0 + timedelta(hours=i)) for i in range(5)))
    body = query(client, grid_worker, "共和新路", per_page=2, page=2)
    assert ids(body) == ["2", "1"] and body["total"] == 5 and body["pages"] == 3
    assert query(client, grid_worker, "共和新路", per_page=2, page=4)["items"] == []


@pytest.mark.parametrize("params, code", [
    ({}, "query_required"),
    ({"q": " "}, "query_required"),
    ({"q": "共" * 51}, "query_too_long"),
    ({"q": "，。"}, "query_unsearchable"),
    ({"q": "共和", "per_page": 500}, "invalid_query"),
    ({"q": "共和", "from": "yesterday"}, "invalid_query"),
    ({"q": "共和", "from": "2026-11-05", "to": "2026-11-01"}, "invalid_query"),
])
def test_bad_requests_get_a_clear_400(client, grid_worker, params, code):
    response = client.get("/api/v1/query", query_string=params, headers=grid_worker)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"] and error["message_en"]


def test_query_needs_a_token(client):
    assert client.get("/api/v1/query?q=共和新路").status_code == 401


def test_query_is_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/query"]["get"]
    assert "400" in operation["responses"] and operation["security"]


def test_backend_ddl_can_run_again_as_a_migration_would(app, client, grid_worker):
    from app.services.search import create_backend_ddl

    with app.app_context(), db.engine.begin() as connection:
        create_backend_ddl(connection)  # already made by create_all: must be a no-op, not an error
    publish(app, rec(1, "共和新路1234号"))
    assert ids(query(client, grid_worker, "共和新路")) == ["1"]


# --- a broad query stays bounded (TOTAL_CAP) -------------------------------------------------------

def test_above_the_cap_totals_are_lower_bounds_and_the_first_page_is_unchanged(app, client, grid_worker,
                                                                                monkeypatch):
    from app.services.search import query as search_query

    records = [rec(i, f"积水点{i}号", at=T0 + timedelta(hours=i)) for i in range(8)]
    records += [rec(100 + i, f"泵站{i}", address=f"积水路{i}号", at=T0 + timedelta(hours=50 + i)) for i in range(5)]
    records += [rec(200 + i, f"雨水口{i}", text="暴雨积水", tool="flood_duty", type="point",
                    at=T0 + timedelta(hours=90 + i)) for i in range(6)]
    publish(app, *records)
    exact = query(client, grid_worker, "积水", per_page=6)
    assert exact["total"] == 19 and not exact["total_capped"] and exact["total_text"] == "19"
    pages = [query(client, grid_worker, "积水", per_page=6, page=n) for n in (1, 2, 3, 4)]

    monkeypatch.setattr(search_query, "TOTAL_CAP", 10)
    capped = query(client, grid_worker, "积水", per_page=6)
    assert capped["total"] == 10 and capped["total_capped"] and capped["total_text"] == "10+"
    assert capped["facets_capped"] and sum(f["count"] for f in capped["facets"]["tool"]) == 11
    for window in (2000, 3):  # found in the newest documents, or (a small window) by sorting the tier
        monkeypatch.setattr(search_query, "RECENT_WINDOW", window)
        for n, expected in enumerate(pages, start=1):  # title tier, then address, then text: the same order
            assert ids(query(client, grid_worker, "积水", per_page=6, page=n)) == ids(expected), (window, n)
    assert ids(capped) == [str(i) for i in range(7, 1, -1)]
    # a filter that leaves few matches is counted exactly again
    flood = query(client, grid_worker, "积水", tool="flood_duty")
    assert flood["total"] == 6 and not flood["total_capped"] and ids(flood) == [str(200 + i) for i in range(5, -1, -1)]
