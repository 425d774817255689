"""`flask toolbox seed` ships three scenes as definitions; definitions export and import as files."""

import json

from tests.definitions.conftest import BIKES

SCENES = {"rental_housing", "shared_bike_patrol", "parking_sharing"}


def toolbox(client, headers) -> set[str]:
    return {t["code"] for t in client.get("/api/v1/toolbox", headers=headers).get_json()["items"]}


def test_seed_ships_the_three_scenes_for_the_right_roles(app, runner, client, auth):
    result = runner.invoke(args=["toolbox", "seed"])
    assert result.exit_code == 0, result.output
    assert "rental_housing (created, published v1)" in result.output
    again = runner.invoke(args=["toolbox", "seed"])
    assert "rental_housing (unchanged)" in again.output
    assert SCENES <= toolbox(client, auth.headers("ja01-operator"))
    assert {"rental_housing", "shared_bike_patrol"} <= toolbox(client, auth.headers("ja01g01-worker"))
    assert "parking_sharing" not in toolbox(client, auth.headers("ja01g01-worker"))   # operators and managers only
    for admin in ("ja-admin", "ja-secadmin", "ja-auditor"):                          # 三员分立: no business tools
        assert not SCENES & toolbox(client, auth.headers(admin))
    listed = runner.invoke(args=["toolbox", "tools", "list"]).output
    assert "rental_housing" in listed and "[definition]" in listed
    schema = client.get("/api/v1/tools/rental_housing/schema", headers=auth.headers("ja01-operator")).get_json()
    assert schema["schema"]["properties"]["landlord_phone"]["x-personal"] is True


def test_export_and_import_round_trip(app, runner, district, tmp_path):
    path = tmp_path / "bikes.json"
    path.write_text(json.dumps(BIKES, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["toolbox", "definitions", "import", str(path), "--publish"])
    assert result.exit_code == 0, result.output
    assert "bike_patrol: draft created, published v1" in result.output
    out = tmp_path / "bikes.yaml"
    assert runner.invoke(args=["toolbox", "definitions", "export", "bike_patrol", "-o", str(out)]).exit_code == 0
    assert "共享单车停放巡查" in out.read_text(encoding="utf-8")
    result = runner.invoke(args=["toolbox", "definitions", "import", str(out), "--publish"])
    assert "draft unchanged" in result.output and "published" not in result.output
    assert "bike_patrol" in runner.invoke(args=["toolbox", "definitions", "list"]).output
    broken = tmp_path / "broken.yaml"
    broken.write_text("code: x\nfields: 3\n", encoding="utf-8")
    result = runner.invoke(args=["toolbox", "definitions", "import", str(broken)])
    assert result.exit_code != 0 and "definition_invalid" in result.output
