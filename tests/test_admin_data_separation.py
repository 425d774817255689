"""三员分立 holds for business data: the system, security and audit admins see no work items, reports,
tool records or unreleased photos through any endpoint.

The test walks the app's URL map, so an endpoint added later is walked too: every GET route that
is not public by design is requested by each of the three admins against a district full of
business data. Business text carries MARKER; business photos are known by their bytes. An admin
may see non-empty answers only where their own duty lies (DUTIES); everywhere else a 200 must be
empty (no list with entries, no count above zero).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.console import ENDPOINT_ROLES
from app.extensions import db
from app.models.base import utcnow
from tests.citizen_support import png_bytes, run_jobs, temporary_media_root

MARKER = "机密业务标记"  # one-click query is asked for its last four characters (the echo is not a leak)
ADMINS = ("ja-admin", "ja-secadmin", "ja-auditor")

# Endpoints whose answers are the admin's own duty (三员分立: tools, org units, places and calendars;
# people and roles; the audit log), and reference data anyone signed in may read.
EVERYONE = set(ADMINS)
DUTIES = {
    "api_v1.me": EVERYONE, "api_v1.my_toolbox": EVERYONE, "api_v1.list_org_units": EVERYONE,
    "api_v1.get_org_unit": EVERYONE, "api_v1.get_calendar": EVERYONE,
    "api_v1.admin_list_tools": {"ja-admin"}, "api_v1.list_limits": {"ja-admin"},
    "api_v1.list_places": {"ja-admin"}, "api_v1.get_place": {"ja-admin"},
    "api_v1.place_poster_png": {"ja-admin"}, "api_v1.place_poster_pdf": {"ja-admin"},
    "api_v1.get_poster_batch": {"ja-admin"}, "api_v1.download_poster_batch": {"ja-admin"},
    "citizen_report.list_api_keys": {"ja-admin"},
    "api_v1.list_users": {"ja-secadmin"},
    "api_v1.read_audit_log": {"ja-auditor"},
    # tool definitions (issue 15) are the system admin's configuration, not business data
    "api_v1.list_definitions": {"ja-admin"}, "api_v1.get_definition": {"ja-admin"},
    "api_v1.export_definition": {"ja-admin"},
    "console.home": EVERYONE,
    # Assessment: the indicator dictionary is reference data; the lists an admin may export are their duty's
    # (the security admin's staff, the audit admin's audit log).
    "api_v1.stats_definitions": EVERYONE, "api_v1.list_export_sources": {"ja-secadmin", "ja-auditor"},
}
# The admin console: each page is the duty of the one role it declares (app.console.page).
_CONSOLE_ADMIN = {"admin": "ja-admin", "security_admin": "ja-secadmin", "audit_admin": "ja-auditor"}
DUTIES.update({endpoint: {_CONSOLE_ADMIN[role]} for endpoint, role in ENDPOINT_ROLES.items()})
CONSOLE_VALUES = {"console.tool": {"code": "construction_sites"}, "console.unit_edit": {"code": "JA01"},
                  "console.person": {"userid": "ja01g01-worker"}}
# Public by design (a citizen's page, reached by an unguessable code; Open311; health; static files).
PUBLIC_BY_DESIGN = {"static", "healthz", "h5.static", "web.static", "index", "h5.report_form", "h5.submit_report",
                    "h5.received", "h5.tracking_lookup", "h5.tracking", "h5.public_photo", "wecom_callback.verify_url"}
PUBLIC_PREFIXES = ("open311.", "api_docs.")
QUERY = {"api_v1.query": {"q": MARKER[2:]}, "api_v1.list_work_items": {"box": "all"},
         "api_v1.list_approvals": {"status": "all"}}
PAGING_KEYS = {"page", "per_page"}
ECHOED_KEYS = {"terms"}  # the query's own words, echoed back


@pytest.fixture(autouse=True)
def media_root(app, tmp_path):
    with temporary_media_root(app, tmp_path / "media") as path:
        yield path


def _photo(client, headers) -> int:
    response = client.post("/api/v1/attachments", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(png_bytes(size=(80, 60))), "p.png")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _ok(response, status=201) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def seed_business_data(app, client, auth, district) -> dict:
    """Records of every tool and the workflow, made over HTTP by the people whose work they are."""
    from toolbox.citizen_report.tests.helpers import form, make_place, photo, submit, tracking_code
    from toolbox.construction_sites.tests.test_construction_sites import checklist, site_payload
    from toolbox.facade_inspection.tests.test_facade_inspection import building, grades

    worker, operator = auth.headers("ja01g01-worker"), auth.headers("ja01-operator")
    ids: dict = {}
    tools = "/api/v1/tools"
    site = _ok(client.post(f"{tools}/construction_sites/sites", json=site_payload(owner_contact=MARKER),
                           headers=operator))
    ids["site_id"] = site["id"]
    ids["code"] = site["place_code"]
    inspection = _ok(client.post(
        f"{tools}/construction_sites/sites/{site['id']}/inspections", headers=worker,
        json={"items": checklist({"dust": f"{MARKER} 裸土未覆盖"}), "remarks": MARKER,
              "photo_ids": [_photo(client, worker)]}))
    ids["inspection_id"] = inspection["id"]
    house = _ok(client.post(f"{tools}/facade_inspection/buildings", json=building(managing_party=MARKER),
                            headers=operator))
    ids["building_id"] = house["id"]
    _ok(client.post(f"{tools}/facade_inspection/buildings/{house['id']}/inspections", headers=worker,
                    json={"items": grades(ac_brackets="high"), "remarks": MARKER,
                          "photo_ids": [_photo(client, worker)]}))
    point = _ok(client.post(f"{tools}/flood_duty/points", headers=operator,
                            json={"org_unit": "JA01G01", "name": "延平路武定路口", "address": "延平路武定路口",
                                  "threshold_cm": 10}))
    ids["point_id"] = point["id"]
    _ok(client.post(f"{tools}/flood_duty/points/{point['id']}/reports", headers=worker,
                    json={"depth_cm": 30, "note": MARKER, "photo_ids": [_photo(client, worker)]}))
    start = utcnow() - timedelta(hours=1)
    roster = _ok(client.post(f"{tools}/flood_duty/rosters", headers=operator, json={
        "org_unit": "JA01", "name": MARKER, "activate_from": "blue", "members": [{"userid": "ja01g01-worker"}],
        "shift_start": start.isoformat(), "shift_end": (start + timedelta(hours=24)).isoformat()}))
    ids["roster_id"] = roster["id"]
    ids["warning_id"] = _ok(client.post(f"{tools}/flood_duty/warnings", headers=operator,
                                        json={"org_unit": "JA01", "level": "blue", "message": MARKER}))["id"]
    place = make_place(app, district, unit="JA01", name="江宁路街道办事处门口")
    tracking = tracking_code(submit(client, place, form(description=f"{MARKER} 人行道地砖松动",
                                                        photos=[photo()])))
    from toolbox.citizen_report.models import CitizenReport

    with app.app_context():
        report = db.session.execute(select(CitizenReport).where(CitizenReport.tracking_code == tracking)
                                    ).scalar_one()
        ids["report_id"], ids["item_id"] = report.id, report.work_item_id
    forward = client.post(f"/api/v1/work-items/{ids['item_id']}/forward", json={"unit": "JA02", "reason": MARKER},
                          headers=operator)
    ids["approval_id"] = _ok(forward, 202)["approval"]["id"]
    ids["decision"] = "approve"
    ids["action"] = "sign"
    ids["name"] = "sites"
    ids["ident"] = ids["site_id"]
    ids["attachment_id"] = inspection["photo_ids"][0]
    ids["batch_id"] = _poster_batch(app)
    ids["tool_code"], ids["record_id"] = _defined_tool_record(client, auth, worker)
    ids["export_id"] = _ok(client.post("/api/v1/exports", json={"source": "work_items"}, headers=operator),
                           202)["id"]  # the operator's export: someone else's is 404 to everybody
    run_jobs(app, "media")
    run_jobs(app, "default")
    return ids


def _defined_tool_record(client, auth, worker) -> tuple[str, int]:
    """A tool defined without code (issue 15) and one record of it, with a photo and personal data."""
    from tests.definitions.conftest import BIKES

    admin = auth.headers("ja-admin")
    body = {**BIKES, "fields": [*BIKES["fields"], {"name": "who", "label": "举报人电话", "type": "phone"}]}
    _ok(client.post("/api/v1/admin/tool-definitions", headers=admin, json=body))
    _ok(client.post("/api/v1/admin/tool-definitions/bike_patrol/publish", headers=admin), 200)
    spot = _ok(client.post("/api/v1/places", headers=auth.headers("ja01-operator"),
                           json={"name": "停放点", "kind": "bike_spot", "org_unit": "JA01G01"}))["code"]
    record = _ok(client.post("/api/v1/tools/bike_patrol/records", headers=worker, json={"values": {
        "spot": spot, "count": 40, "note": MARKER, "who": "13900001111", "photos": [_photo(client, worker)]}}))
    return "bike_patrol", record["id"]


def _poster_batch(app) -> int:
    from app.models.org import OrgUnit
    from app.models.place import PlacePosterBatch

    with app.app_context():
        unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == "JA01")).scalar_one()
        batch = PlacePosterBatch(org_unit=unit, org_unit_id=unit.id, format="pdf", status="queued", total=1)
        db.session.add(batch)
        db.session.commit()
        return batch.id


def business_photo_bytes(app) -> set[bytes]:
    from app.models.attachment import Attachment
    from app.services import media

    with app.app_context():
        rows = db.session.execute(select(Attachment)).scalars().all()
        return {media.read(key) for a in rows for key in (a.display_key, a.thumb_key) if key and media.exists(key)}


def walked_rules(app):
    """Every GET route that is not public by design: new endpoints are walked without anyone listing them."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if "GET" not in rule.methods or getattr(view, "is_public", False):
            continue
        if rule.endpoint in PUBLIC_BY_DESIGN or rule.endpoint.startswith(PUBLIC_PREFIXES):
            continue
        yield rule


def url_for_rule(rule, ids: dict) -> str:
    values = {}
    for name in rule.arguments:
        if name == "code" and rule.endpoint == "api_v1.get_org_unit":
            values[name] = "JA01"
        elif name == "code" and rule.endpoint.startswith("staff.tool"):
            values[name] = "construction_sites"  # the workbench's tool screens
        elif name in CONSOLE_VALUES.get(rule.endpoint, {}):
            values[name] = CONSOLE_VALUES[rule.endpoint][name]
        elif name in ids:
            values[name] = ids[name]
        elif name == "batch_id" and rule.endpoint.startswith("console."):
            values[name] = 1  # no batch in the walk: the page answers 404
        else:
            pytest.fail(f"the walk has no value for <{name}> in {rule.rule}: add one to seed_business_data")
    return rule.build(values)[1]


def _non_empty(value, key=None) -> list[str]:
    """Where a JSON answer carries data: a list with entries, a count above zero (paging aside)."""
    if isinstance(value, list):
        return [f"{key}: {len(value)} entries"] if value and key not in ECHOED_KEYS else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_empty(v, k)]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float) and value and key not in PAGING_KEYS:
        return [f"{key}={value}"]
    return []


def problems_for(admin: str, response, rule, photos: set[bytes]) -> list[str]:
    where = f"{admin} GET {rule.rule}"
    body = response.get_data()
    found = []
    if MARKER.encode() in body:
        found.append(f"{where}: business text in the answer")
    if response.status_code == 200 and body in photos:
        found.append(f"{where}: a business photo")
    allowed = admin in DUTIES.get(rule.endpoint, set())
    if response.status_code == 200 and not allowed:
        if response.is_json:
            found += [f"{where}: {p}" for p in _non_empty(response.get_json())]
        else:
            found.append(f"{where}: 200 {response.mimetype}")
    return found


@pytest.mark.parametrize("admin", ADMINS)
def test_the_three_admins_see_no_business_data_anywhere(app, client, district, auth, admin):
    ids = seed_business_data(app, client, auth, district)
    photos = business_photo_bytes(app)
    assert len(photos) >= 2, "the walk needs business photos to look for"
    token = auth.token(admin)
    client.set_cookie("toolbox_token", token)  # pages outside /api sign in by cookie
    headers = {"Authorization": f"Bearer {token}"}
    rules = list(walked_rules(app))
    assert len(rules) > 40
    problems = []
    for rule in rules:
        response = client.get(url_for_rule(rule, ids), query_string=QUERY.get(rule.endpoint, {}), headers=headers)
        assert response.status_code < 500, (rule.rule, response.get_data(as_text=True)[:300])
        problems += problems_for(admin, response, rule, photos)
    assert problems == []


def test_the_walk_finds_business_data_for_the_people_whose_work_it_is(app, client, district, auth):
    """The walk can fail: the district operator sees the marker and the photos it looks for."""
    ids = seed_business_data(app, client, auth, district)
    photos = business_photo_bytes(app)
    headers = auth.headers("ja-operator")
    found = []
    for rule in walked_rules(app):
        response = client.get(url_for_rule(rule, ids), query_string=QUERY.get(rule.endpoint, {}), headers=headers)
        found += problems_for("ja-admin", response, rule, photos)
    assert any("business text" in p for p in found) and any("business photo" in p for p in found)
    assert any(p.startswith("ja-admin GET /api/v1/work-items: items") for p in found)


def test_the_security_admin_lists_people_and_the_system_admin_lists_places(app, client, district, auth):
    seed_business_data(app, client, auth, district)
    users = client.get("/api/v1/users?per_page=100", headers=auth.headers("ja-secadmin")).get_json()
    assert users["total"] > 100
    assert client.get("/api/v1/users", headers=auth.headers("ja-admin")).get_json()["total"] == 0
    places = client.get("/api/v1/places", headers=auth.headers("ja-admin")).get_json()
    assert places["total"] >= 4
    assert client.get("/api/v1/places", headers=auth.headers("ja-auditor")).get_json()["total"] == 0
