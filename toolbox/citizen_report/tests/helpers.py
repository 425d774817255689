"""Helpers for the citizen report tests: places, H5 submissions, driving a work item to its end."""

from __future__ import annotations

import io
import re
import secrets

from app.extensions import db
from app.services.places import create_place
from tests.citizen_support import jpeg_with_gps


def make_place(app, district, unit="JA01G01", name="延平路 123 号", kind="building", **kw) -> str:
    with app.app_context():
        place = create_place(name=name, kind=kind, org_unit=district.unit(unit), address="延平路123号",
                             lat=31.2302, lng=121.4401, **kw)
        db.session.commit()
        return place.code


def form(category="facilities", description="人行道地砖松动，容易绊倒行人", mobile="13812345678", photos=(),
         privacy=True, key=None, **extra) -> dict:
    data = {"category": category, "description": description, "mobile": mobile,
            "idempotency_key": key or secrets.token_urlsafe(24), **extra}
    if privacy:
        data["privacy"] = "on"
    if photos:
        data["photos"] = [(io.BytesIO(p), f"p{i}.jpg") for i, p in enumerate(photos)]
    return data


def submit(client, code, data, **headers):
    return client.post(f"/h5/c/{code}", data=data, content_type="multipart/form-data", headers=headers)


def tracking_code(response) -> str:
    match = re.search(r"/h5/t/([A-Z0-9]+)", response.headers.get("Location", ""))
    assert match, (response.status_code, response.get_data(as_text=True)[:500])
    return match.group(1)


def photo() -> bytes:
    return jpeg_with_gps(size=(1200, 900), orientation=None)


def close_item(client, auth, item_id: int, *, handler="ja01-operator", dispatcher="ja-operator") -> None:
    """Drive a street-routed item: sign → feedback → review_pass → visit (closed)."""
    def act(userid, action, **body):
        response = client.post(f"/api/v1/work-items/{item_id}/{action}", json=body, headers=auth.headers(userid))
        assert response.status_code == 200, (action, response.get_json())
    act(handler, "sign")
    act(handler, "feedback", result="已更换松动地砖")
    act(dispatcher, "review_pass")
    act(dispatcher, "visit", satisfaction="satisfied")
