"""Helpers for the photo, place and citizen-report tests (import the fixtures you need)."""

from __future__ import annotations

import io

import redis
from PIL import Image, ImageDraw
from rq import Queue

from app.extensions import db
from tests.fixtures import REDIS_URL, USE_REDIS, temporary_media_root  # noqa: F401 - re-exported


def run_jobs(app, *queues: str) -> None:
    """Run queued jobs with a real RQ worker (burst) in the test app; without Redis they ran inline."""
    if not USE_REDIS:
        return
    from rq import SimpleWorker

    from app.jobs import get_queue

    with app.app_context():
        qs = [get_queue(q) for q in (queues or ("media", "default", "notify"))]
        SimpleWorker(qs, connection=qs[0].connection).work(burst=True)
    db.session.expire_all() if _has_ctx() else None


def _has_ctx() -> bool:
    from flask import has_app_context
    return has_app_context()


def queued_count(queue: str) -> int:
    if not USE_REDIS:
        return 0
    return Queue(queue, connection=redis.Redis.from_url(REDIS_URL)).count


def jpeg_with_gps(size=(2400, 1800), orientation: int | None = 6, color=(200, 30, 30)) -> bytes:
    """A JPEG carrying EXIF GPS coordinates, a camera model and (optionally) an orientation tag."""
    img = Image.new("RGB", size, color)
    # A marker in the top-left corner, so orientation can be checked after rotation.
    ImageDraw.Draw(img).rectangle([0, 0, size[0] // 4, size[1] // 8], fill=(0, 0, 255))
    exif = Image.Exif()
    exif[0x0110] = "Citizen Phone X"   # Model
    if orientation:
        exif[0x0112] = orientation     # Orientation
    gps = {1: "N", 2: (31.0, 13.0, 30.0), 3: "E", 4: (121.0, 26.0, 40.0)}
    exif[0x8825] = gps                 # GPSInfo IFD
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=90)
    return buf.getvalue()


def png_bytes(size=(64, 48), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 0 if mode == "1" else (10, 120, 10)).save(buf, "PNG")
    return buf.getvalue()
