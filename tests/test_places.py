"""Places and their Jing'an codes: creation in scope, unguessable codes, QR codes."""

from __future__ import annotations

import io
import re

from PIL import Image

from app.extensions import db
from app.services.places import CODE_ALPHABET, CODE_LENGTH, create_place, get_place


def new_place(client, headers, **overrides):
    body = {"name": "延平路 123 号工地", "kind": "construction_site", "org_unit": "JA01G01",
            "address": "延平路123号", "lat": 31.23, "lng": 121.44, **overrides}
    return client.post("/api/v1/places", headers=headers, json=body)


def test_operator_creates_place_with_unguessable_code(client, district, auth):
    headers = auth.headers("ja01-operator")
    response = new_place(client, headers)
    assert response.status_code == 201, response.get_json()
    place = response.get_json()
    assert re.fullmatch(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}", place["code"])
    assert place["street"]["code"] == "JA01" and place["org_unit"]["code"] == "JA01G01"
    assert place["report_url"] == f"/h5/c/{place['code']}"
    codes = {new_place(client, headers, name=f"点位{i}").get_json()["code"] for i in range(20)}
    assert len(codes | {place["code"]}) == 21
    assert client.get(f"/api/v1/places/{place['code']}", headers=headers).get_json()["name"] == "延平路 123 号工地"


def test_places_outside_my_scope_can_be_neither_created_nor_seen(client, district, auth):
    mine = new_place(client, auth.headers("ja01-operator")).get_json()
    other = auth.headers("ja02-operator")
    assert new_place(client, other).status_code == 403
    assert client.get(f"/api/v1/places/{mine['code']}", headers=other).status_code == 403
    assert client.get("/api/v1/places", headers=other).get_json()["total"] == 0
    listing = client.get("/api/v1/places?kind=construction_site&q=延平路", headers=auth.headers("ja-admin"))
    assert [p["code"] for p in listing.get_json()["items"]] == [mine["code"]]


def test_workers_cannot_create_places(client, district, auth):
    assert new_place(client, auth.headers("ja01g01-worker")).status_code == 403


def test_invalid_place_input_is_422(client, district, auth):
    response = new_place(client, auth.headers("ja01-operator"), kind="spaceship", lat=300)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"kind", "lat"}


def test_qr_png_and_svg_encode_the_h5_report_url(app, client, district, auth):
    code = new_place(client, auth.headers("ja01-operator")).get_json()["code"]
    png = client.get(f"/api/v1/places/{code}/qrcode.png")  # public: no token
    assert png.status_code == 200 and png.mimetype == "image/png"
    img = Image.open(io.BytesIO(png.data))
    assert img.size[0] == img.size[1] and img.size[0] >= 200
    svg = client.get(f"/api/v1/places/{code}/qrcode.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get("/api/v1/places/NOSUCHCODE/qrcode.png").status_code == 404
    # The encoded payload is the public report URL for this code.
    import qrcode
    with app.app_context():
        from app.services.places import report_url
        expected = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
        expected.add_data(report_url(get_place(code)))
        expected.make(fit=True)
        assert report_url(get_place(code)) == f"http://127.0.0.1:5000/h5/c/{code}"
        buf = io.BytesIO()
        expected.make_image().get_image().save(buf, "PNG")
        assert Image.open(buf).convert("1").tobytes() == img.convert("1").tobytes()


def test_create_place_service_adds_to_session_for_the_caller_to_commit(app, district):
    with app.app_context():
        grid = district.unit("JA03G02")
        place = create_place(name="积水点：余姚路", kind="flood_point", org_unit=grid, ref_tool="flood_duty",
                             ref_type="point", ref_id=7)
        assert place.code and place.org_path == grid.path and place.ref_id == "7"
        db.session.rollback()
        assert get_place(place.code) is None


def test_disabling_a_code_keeps_the_place(client, district, auth):
    headers = auth.headers("ja01-operator")
    code = new_place(client, headers).get_json()["code"]
    response = client.patch(f"/api/v1/places/{code}", headers=headers, json={"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
