"""Data scope: a user sees the union of the subtrees of their units, at every level."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OrgUnit
from app.services.scope import in_scope, scope_paths, scoped


@pytest.mark.parametrize(("userid", "visible", "hidden"), [
    ("ja-operator", ["JA", "JA01", "JA14G07C03", "JA-D-JG"], []),
    ("ja01-manager", ["JA01", "JA01G03", "JA01G06C03"], ["JA", "JA02", "JA02G01"]),
    ("ja01g02-worker", ["JA01G02", "JA01G02C01"], ["JA01", "JA01G01", "JA01G03C01"]),
    ("ja01g01c01-worker", ["JA01G01C01"], ["JA01G01", "JA01G01C02"]),
])
def test_scope_at_every_level(ctx, district, userid, visible, hidden):
    user = district.user(userid)
    codes = set(db.session.execute(
        scoped(select(OrgUnit.code), OrgUnit.path, user)).scalars())
    assert set(visible) <= codes
    assert not set(hidden) & codes
    for code in visible:
        assert in_scope(user, district.unit(code).path)
    for code in hidden:
        assert not in_scope(user, district.unit(code).path)


def test_scope_is_the_union_of_several_units(ctx, district, make_user):
    make_user("two-grids", ("JA01G01", "worker"), ("JA05G02", "worker"), ("JA05G02C01", "worker"))
    user = district.user("two-grids")
    assert scope_paths(user) == ["/JA/JA01/JA01G01/", "/JA/JA05/JA05G02/"]
    codes = set(db.session.execute(scoped(select(OrgUnit.code), OrgUnit.path, user)).scalars())
    assert {"JA01G01", "JA05G02C01"} <= codes and "JA05G01" not in codes


def test_user_without_memberships_sees_nothing(ctx, district, make_user):
    make_user("nobody")
    user = district.user("nobody")
    assert db.session.execute(scoped(select(OrgUnit.code), OrgUnit.path, user)).scalars().all() == []


def test_like_wildcards_in_paths_do_not_widen_scope(ctx, district, make_user):
    # A unit code containing "_" must not match sibling codes through LIKE.
    from app.models import OrgLevel
    street = district.unit("JA01")
    odd = OrgUnit(code="JA01_X", name="测试", level=OrgLevel.GRID, parent=street,
                  path=OrgUnit.child_path(street, "JA01_X"))
    db.session.add(odd)
    db.session.commit()
    make_user("odd-worker", ("JA01_X", "worker"))
    user = district.user("odd-worker")
    codes = set(db.session.execute(scoped(select(OrgUnit.code), OrgUnit.path, user)).scalars())
    assert codes == {"JA01_X"}


@pytest.mark.parametrize(("userid", "expected_total"), [
    ("ja01-manager", 2 + 6 + 3),        # street manager+operator, 6 grid workers, 3 committee workers
    ("ja01g01-worker", 1 + 1),          # the grid worker and one committee worker below
])
def test_staff_directory_is_scoped(client, district, auth, userid, expected_total):
    body = client.get("/api/v1/users?per_page=100", headers=auth.headers(userid)).get_json()
    userids = {u["userid"] for u in body["items"]}
    assert body["total"] == len(userids) == expected_total
    assert "ja02-manager" not in userids and "ja-admin" not in userids


def test_staff_directory_masks_mobile_numbers(client, district, auth):
    body = client.get("/api/v1/users?q=ja01-manager", headers=auth.headers("ja-operator")).get_json()
    assert body["items"][0]["mobile"].count("*") == 4


def test_asking_for_a_unit_outside_scope_is_403(client, district, auth):
    response = client.get("/api/v1/users?unit=JA02", headers=auth.headers("ja01-manager"))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "out_of_scope"
