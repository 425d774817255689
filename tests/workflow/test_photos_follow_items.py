"""Photos follow their work item: whoever may read the item may read its photos, nobody else.

The access check asks the records holding a photo (app.services.attachments), so every way an
item moves — forward, forward after approval, reassign, return, dispatch — moves its photos too.
"""

from __future__ import annotations

import io

import pytest

from tests.citizen_support import png_bytes, run_jobs, temporary_media_root

BYSTANDER = "ja07-operator"   # another street: never sees anything here


@pytest.fixture(autouse=True)
def media_root(app, tmp_path):
    with temporary_media_root(app, tmp_path / "media") as path:
        yield path


def upload(client, auth, userid: str) -> int:
    response = client.post("/api/v1/attachments", headers=auth.headers(userid),
                           data={"file": (io.BytesIO(png_bytes()), "p.png")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def sees(client, auth, userid: str, att_id: int) -> bool:
    status = client.get(f"/api/v1/attachments/{att_id}", headers=auth.headers(userid)).status_code
    assert status in (200, 404)
    return status == 200


@pytest.fixture
def item_with_photo(app, client, auth, new_item):
    """A grid worker's photo on a street item (JA01 handles, JA dispatches)."""
    att_id = upload(client, auth, "ja01g01-worker")
    return new_item("JA01G01", "waterlogging", photo_ids=[att_id]), att_id


def test_a_photo_no_record_holds_is_its_uploaders_only(client, auth, district):
    att_id = upload(client, auth, "ja01g01-worker")
    assert sees(client, auth, "ja01g01-worker", att_id)
    assert not sees(client, auth, "ja01-operator", att_id)
    assert not sees(client, auth, "ja01g01c01-worker", att_id)


def test_the_handling_and_dispatching_units_read_an_items_photos(client, auth, item_with_photo):
    _item, att_id = item_with_photo
    assert sees(client, auth, "ja01-operator", att_id) and sees(client, auth, "ja-operator", att_id)
    assert not sees(client, auth, BYSTANDER, att_id)
    assert not sees(client, auth, "ja01g02-worker", att_id)  # below the handling unit: not the item's reader


MOVES = {
    # name: (who acts, action, body, approver or None, new reader, former reader who never acted)
    "forward within the subtree": ("ja01-operator", "forward", {"unit": "JA01G02", "reason": "属网格事项"}, None,
                                   "ja01g02-worker", None),
    "forward after approval": ("ja01-operator", "forward", {"unit": "JA02", "reason": "属江宁路"}, "ja01-manager",
                               "ja02-operator", None),
    "reassign": ("ja-operator", "reassign", {"unit": "JA03", "reason": "属曹家渡"}, None, "ja03-operator",
                 "ja01-manager"),
    "return": ("ja01-operator", "return", {"reason": "不属本街道"}, None, "ja-manager", "ja01-manager"),
}


@pytest.mark.parametrize("move", sorted(MOVES))
def test_photos_move_with_the_item(client, auth, api, item_with_photo, move):
    actor, action, body, approver, new_reader, former = MOVES[move]
    item_id, att_id = item_with_photo
    if new_reader != "ja-manager":
        assert not sees(client, auth, new_reader, att_id)
    result = api.ok(actor, item_id, action, **body)
    if approver is not None:
        assert result["approval"]["status"] == "pending"
        assert sees(client, auth, approver, att_id)  # an approver reads what they decide
        assert not sees(client, auth, new_reader, att_id)
        decided = client.post(f"/api/v1/work-item-approvals/{result['approval']['id']}/approve", json={},
                              headers=auth.headers(approver))
        assert decided.status_code == 200, decided.get_json()
    assert sees(client, auth, new_reader, att_id)
    assert sees(client, auth, actor, att_id)  # whoever acted on the item keeps reading it
    if former is not None:
        assert not sees(client, auth, former, att_id)
    assert not sees(client, auth, BYSTANDER, att_id)


def test_a_dispatch_after_a_return_hands_the_photos_to_the_new_unit(client, auth, api, item_with_photo):
    item_id, att_id = item_with_photo
    api.ok("ja01-operator", item_id, "return", reason="不属本街道")
    assert not sees(client, auth, "ja05-operator", att_id)
    api.ok("ja-operator", item_id, "dispatch", unit="JA05")
    assert sees(client, auth, "ja05-operator", att_id)


def test_only_the_handling_or_dispatching_unit_may_release_a_photo(app, client, auth, api, item_with_photo):
    item_id, att_id = item_with_photo
    run_jobs(app, "media")
    api.ok("ja-operator", item_id, "reassign", unit="JA03", reason="属曹家渡")
    release = client.post(f"/api/v1/attachments/{att_id}/release", json={}, headers=auth.headers("ja03-manager"))
    assert release.status_code == 200  # the handling unit's manager
    withdraw = client.post(f"/api/v1/attachments/{att_id}/release", json={"released": False},
                           headers=auth.headers("ja-operator"))
    assert withdraw.status_code == 200  # the dispatching unit


def test_someone_who_only_acted_earlier_reads_but_may_not_release(app, client, auth, api, item_with_photo):
    item_id, att_id = item_with_photo
    run_jobs(app, "media")
    api.ok("ja01-operator", item_id, "sign")
    api.ok("ja-operator", item_id, "reassign", unit="JA03", reason="属曹家渡")
    assert sees(client, auth, "ja01-operator", att_id)
    release = client.post(f"/api/v1/attachments/{att_id}/release", json={}, headers=auth.headers("ja01-operator"))
    assert release.status_code == 403 and release.get_json()["error"]["code"] == "photo_edit_forbidden"


def test_a_construction_commission_operator_sees_an_inspection_photo(app, client, auth, district):
    """A site inspection's failed line goes to 建管委: its operator opens the photo; another department cannot."""
    from toolbox.construction_sites.tests.test_construction_sites import URL, checklist, site_payload

    site = client.post(f"{URL}/sites", json=site_payload(), headers=auth.headers("ja01-operator")).get_json()
    att_id = upload(client, auth, "ja01g01-worker")
    inspection = client.post(f"{URL}/sites/{site['id']}/inspections",
                             json={"items": [{**line, "photo_ids": [att_id]} if line["item"] == "dust" else line
                                             for line in checklist({"dust": "裸土未覆盖"})]},
                             headers=auth.headers("ja01g01-worker"))
    assert inspection.status_code == 201, inspection.get_json()
    run_jobs(app, "media")
    image = client.get(f"/api/v1/attachments/{att_id}/image.jpg", headers=auth.headers("ja-d-jg-operator"))
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert sees(client, auth, "ja01g01-worker", att_id)   # the inspector, through the site and the item
    assert not sees(client, auth, "ja-d-hj-operator", att_id)
    assert not sees(client, auth, BYSTANDER, att_id)


def test_a_grid_worker_handling_a_forwarded_citizen_report_sees_its_released_photo(app, client, auth, district):
    from sqlalchemy import select

    from app.extensions import db
    from toolbox.citizen_report.models import CitizenReport
    from toolbox.citizen_report.tests.helpers import form, make_place, photo, submit, tracking_code

    place = make_place(app, district, unit="JA01", name="江宁路街道办事处门口")  # a street-level place
    code = tracking_code(submit(client, place, form(photos=[photo()])))
    run_jobs(app, "media")
    with app.app_context():
        row = db.session.execute(select(CitizenReport).where(CitizenReport.tracking_code == code)).scalar_one()
        att_id, item_id = row.photo_ids[0], row.work_item_id
    released = client.post(f"/api/v1/attachments/{att_id}/release", json={}, headers=auth.headers("ja01-operator"))
    assert released.status_code == 200, released.get_json()
    assert not sees(client, auth, "ja01g01-worker", att_id)
    forward = client.post(f"/api/v1/work-items/{item_id}/forward", json={"unit": "JA01G01", "reason": "网格处置"},
                          headers=auth.headers("ja01-operator"))
    assert forward.status_code == 200, forward.get_json()
    image = client.get(f"/api/v1/attachments/{att_id}/image.jpg", headers=auth.headers("ja01g01-worker"))
    assert image.status_code == 200
    assert not sees(client, auth, BYSTANDER, att_id)


def test_relink_photos_rebuilds_the_links_from_the_records(app, client, auth, runner, item_with_photo):
    from sqlalchemy import delete

    from app.extensions import db
    from app.models.attachment import AttachmentLink

    item_id, att_id = item_with_photo
    with app.app_context():
        db.session.execute(delete(AttachmentLink))
        db.session.commit()
    assert not sees(client, auth, "ja01-operator", att_id)
    result = runner.invoke(args=["toolbox", "relink-photos"])
    assert result.exit_code == 0, result.output
    assert "work_item: 1 photo links" in result.output
    assert sees(client, auth, "ja01-operator", att_id)
