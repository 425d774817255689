"""Places and their Jing'an codes: create_place(), look-ups, QR codes.

    place = create_place(name="延平路工地", kind="construction_site", org_unit=grid, address=...)
    db.session.commit()
    qr_png(place)   # PNG bytes of a QR that opens PUBLIC_BASE_URL/h5/c/<code>
"""

from __future__ import annotations

import io
import secrets

import qrcode
import qrcode.image.svg
from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.models.org import OrgUnit
from app.models.place import Place
from app.registry import current_registry

# No 0/O, 1/I/L: codes are read aloud and typed from posters. 31^10 ≈ 8e14 codes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        exists = db.session.execute(select(Place.id).where(Place.code == code)).first()
        if not exists:
            return code


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


def check_kind(kind: str) -> None:
    """A schema validator: the kind is one some registered tool declares."""
    known = current_registry().place_kinds
    if kind not in known:
        raise ValidationError(f"地点类型须为：{'、'.join(f'{k}（{v.name}）' for k, v in sorted(known.items()))}")


def create_place(*, name: str, kind: str, org_unit: OrgUnit, address: str | None = None,
                 lat: float | None = None, lng: float | None = None, ref_tool: str | None = None,
                 ref_type: str | None = None, ref_id=None, created_by=None) -> Place:
    """Add a new place with a fresh unguessable code to the session (the caller commits)."""
    known = current_registry().place_kinds
    if kind not in known:
        raise ApiError(422, "invalid_place_kind", "地点类型无效", "Unknown place kind", kinds=sorted(known))
    if not (name or "").strip():
        raise ApiError(422, "place_name_required", "请填写地点名称", "A place needs a name")
    place = Place(code=new_code(), name=name.strip(), kind=kind, org_unit=org_unit, org_unit_id=org_unit.id,
                  org_path=org_unit.path, address=address, lat=lat, lng=lng, ref_tool=ref_tool,
                  ref_type=ref_type, ref_id=None if ref_id is None else str(ref_id),
                  created_by_id=getattr(created_by, "id", None), active=True)
    db.session.add(place)
    db.session.flush()
    return place


def get_place(code: str, *, active_only: bool = False) -> Place | None:
    place = db.session.execute(select(Place).where(Place.code == normalise_code(code))).scalar_one_or_none()
    if place is not None and active_only and not place.active:
        return None
    return place


def report_url(place: Place) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/h5/c/{place.code}"


def _qr(data: str, box_size: int = 10) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def qr_image(place: Place, box_size: int = 10):
    """A Pillow image of the place's QR code."""
    return _qr(report_url(place), box_size).make_image(fill_color="black", back_color="white").get_image()


def qr_png(place: Place, box_size: int = 10) -> bytes:
    buf = io.BytesIO()
    qr_image(place, box_size).save(buf, "PNG")
    return buf.getvalue()


def qr_svg(place: Place) -> bytes:
    img = _qr(report_url(place)).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()
