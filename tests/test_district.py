"""The seeded district: 1 + 14 + 85 + 266, real street names, idempotent."""

from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Membership, OrgUnit, Role
from app.services.district import STREETS

REAL_STREETS = [
    "江宁路街道", "石门二路街道", "南京西路街道", "静安寺街道", "曹家渡街道", "天目西路街道", "北站街道",
    "宝山路街道", "共和新路街道", "大宁路街道", "彭浦新村街道", "临汾路街道", "芷江西路街道", "彭浦镇",
]


def count_level(level: str) -> int:
    return db.session.execute(select(func.count()).where(OrgUnit.level == level)).scalar_one()


def test_seed_builds_1_14_85_266(ctx, district):
    assert [count_level(lvl) for lvl in ("district", "street", "grid", "committee")] == [1, 14, 85, 266]


def test_every_committee_sits_in_a_grid_of_its_street(ctx, district):
    for committee in db.session.execute(select(OrgUnit).where(OrgUnit.level == "committee")).scalars():
        grid = committee.parent
        assert grid.level == "grid" and grid.parent.level == "street"
        assert committee.path == f"{grid.path}{committee.code}/"
        assert committee.street is grid.parent


def test_seed_twice_changes_nothing(runner, district):
    result = runner.invoke(args=["toolbox", "seed"])
    assert result.exit_code == 0, result.output
    assert "0 org units and 0 users created" in result.output


def test_demo_users_exist_at_every_level(ctx, district):
    levels = set(db.session.execute(
        select(OrgUnit.level).join(Membership, Membership.org_unit_id == OrgUnit.id).distinct()).scalars())
    assert {"district", "department", "street", "grid", "committee"} <= levels
    worker = district.user("ja01g01-worker")
    assert worker.roles == {Role.WORKER}


def test_mobile_numbers_are_encrypted_at_rest(ctx, district):
    user = district.user("ja01-manager")
    raw = db.session.execute(text("SELECT mobile FROM app_user WHERE id = :id"), {"id": user.id}).scalar_one()
    assert user.mobile.startswith("139")
    assert user.mobile not in raw


def test_street_list_endpoint_returns_the_14_real_names(client, district, auth):
    response = client.get("/api/v1/org-units?level=street", headers=auth.headers("ja01g01-worker"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 14
    assert [u["name"] for u in body["items"]] == REAL_STREETS == [name for name, _ in STREETS]


def test_children_of_a_street_are_its_grids(client, district, auth):
    body = client.get("/api/v1/org-units?parent=JA14", headers=auth.headers("ja-operator")).get_json()
    assert body["total"] == 7
    assert {u["level"] for u in body["items"]} == {"grid"}


def test_unknown_parent_is_404(client, district, auth):
    response = client.get("/api/v1/org-units?parent=NOPE", headers=auth.headers("ja-operator"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "org_unit_not_found"
