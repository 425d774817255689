"""The photo pipeline: validation on upload, cleaning in a `media` job, redaction and release."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from PIL import Image

from app.extensions import db
from app.models.attachment import Attachment
from app.models.audit import AuditLog
from app.services import media, photos
from tests.citizen_support import jpeg_with_gps, png_bytes, queued_count, run_jobs
from tests.fixtures import USE_REDIS

pytestmark = pytest.mark.usefixtures("media_root")


def upload(client, headers, data: bytes, name="photo.jpg"):
    return client.post("/api/v1/attachments", headers=headers,
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


@pytest.fixture
def worker(district, auth):
    return auth.headers("ja01g01-worker")


def test_uploaded_photo_is_cleaned_by_media_job_and_keeps_no_exif(app, client, worker, media_root):
    original = jpeg_with_gps(size=(2400, 1800), orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "fixture must carry GPS"
    response = upload(client, worker, original)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sha256"] == hashlib.sha256(original).hexdigest()
    if USE_REDIS:
        assert body["status"] == "pending"
        assert queued_count("media") == 1
    run_jobs(app, "media")

    meta = client.get(f"/api/v1/attachments/{body['id']}", headers=worker).get_json()
    assert meta["status"] == "ready"
    # Orientation 6 means "rotate 90° clockwise to view": the cleaned copy is portrait, ≤ 1600 px.
    assert (meta["display_width"], meta["display_height"]) == (1200, 1600)

    image = client.get(f"/api/v1/attachments/{body['id']}/image.jpg", headers=worker)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    cleaned = Image.open(io.BytesIO(image.data))
    assert cleaned.size == (1200, 1600)
    assert len(cleaned.getexif()) == 0
    assert "exif" not in cleaned.info and b"GPS" not in image.data and b"Citizen Phone X" not in image.data
    # The blue marker (top-left of the original) is now at the top-right after rotation.
    assert cleaned.getpixel((1190, 10))[2] > 200 and cleaned.getpixel((10, 10))[0] > 150

    thumb = Image.open(io.BytesIO(client.get(f"/api/v1/attachments/{body['id']}/thumb.jpg",
                                             headers=worker).data))
    assert max(thumb.size) == 320 and len(thumb.getexif()) == 0

    with app.app_context():
        att = db.session.get(Attachment, body["id"])
        # The original is kept privately, by content hash, untouched; derived files carry no EXIF.
        assert media.path(att.original_key).read_bytes() == original
        assert att.sha256 in att.original_key and str(media.path(att.original_key)).startswith(str(media_root))
        for key in (att.display_key, att.thumb_key):
            assert b"Exif" not in media.read(key)


def test_same_bytes_are_stored_once(app, client, worker, media_root):
    data = png_bytes()
    first = upload(client, worker, data, "a.png").get_json()
    second = upload(client, worker, data, "b.png").get_json()
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert len(list((media_root / "originals").rglob("*.png"))) == 1


def test_photo_over_the_byte_limit_is_refused_with_413(app, client, worker, media_root):
    app.config["PHOTO_MAX_BYTES"] = 50_000
    try:
        noise = Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3))
        buf = io.BytesIO()
        noise.save(buf, "JPEG", quality=95)
        assert len(buf.getvalue()) > 50_000
        response = upload(client, worker, buf.getvalue())
    finally:
        app.config["PHOTO_MAX_BYTES"] = 10 * 1024 * 1024
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "photo_too_large"
    assert not media_root.exists() or not list(media_root.rglob("*.*"))


def test_decompression_bomb_is_refused_before_decoding(app, client, worker, media_root):
    bomb = png_bytes(size=(10_000, 10_000), mode="1")  # 100 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    response = upload(client, worker, bomb, "bomb.png")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "photo_too_many_pixels"
    with app.app_context():
        assert db.session.query(Attachment).count() == 0


@pytest.mark.parametrize("payload, name", [
    (b"%PDF-1.4 definitely not a photo", "x.jpg"),
    (b"", "empty.jpg"),
])
def test_non_images_are_refused_with_422(client, worker, media_root, payload, name):
    response = upload(client, worker, payload, name)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "photo_invalid"


def test_image_formats_outside_the_allowed_list_are_refused(client, worker, media_root):
    buf = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buf, "GIF")
    response = upload(client, worker, buf.getvalue(), "anim.gif")
    assert response.status_code == 422 and "GIF" in response.get_json()["error"]["reason"]


def test_truncated_jpeg_is_refused(client, worker, media_root):
    data = jpeg_with_gps(size=(800, 600))
    response = upload(client, worker, data[: len(data) // 2])
    assert response.status_code == 422


@pytest.mark.skipif(not USE_REDIS, reason="without Redis the job runs inline in the transaction")
def test_media_job_is_queued_only_after_commit(app, district, media_root):
    from werkzeug.datastructures import FileStorage

    with app.app_context():
        photos.accept_upload(FileStorage(io.BytesIO(png_bytes()), "p.png"))
        assert queued_count("media") == 0
        db.session.rollback()
        assert queued_count("media") == 0
        att = photos.accept_upload(FileStorage(io.BytesIO(png_bytes()), "p.png"))
        db.session.commit()
        assert queued_count("media") == 1
        run_jobs(app, "media")
        assert db.session.get(Attachment, att.id).status == "ready"


def test_staff_black_out_areas_before_release(app, client, worker, media_root):
    att = upload(client, worker, jpeg_with_gps(size=(1000, 1000), orientation=None, color=(250, 250, 250)))
    att_id = att.get_json()["id"]
    run_jobs(app, "media")
    response = client.post(f"/api/v1/attachments/{att_id}/redactions", headers=worker,
                           json={"areas": [{"x": 0.4, "y": 0.4, "w": 0.2, "h": 0.2}]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["redactions"] == [{"x": 0.4, "y": 0.4, "w": 0.2, "h": 0.2}]
    image = Image.open(io.BytesIO(client.get(f"/api/v1/attachments/{att_id}/image.jpg", headers=worker).data))
    assert max(image.getpixel((500, 500))) < 20          # blacked out
    assert min(image.getpixel((100, 900))) > 200         # untouched
    bad = client.post(f"/api/v1/attachments/{att_id}/redactions", headers=worker,
                      json={"areas": [{"x": 1.5, "y": 0, "w": 0.1, "h": 0.1}]})
    assert bad.status_code == 422

    released = client.post(f"/api/v1/attachments/{att_id}/release", headers=worker)
    assert released.status_code == 200
    body = released.get_json()
    assert body["released"] is True and body["public_url"].startswith("/h5/photos/")
    with app.app_context():
        actions = [a.action for a in db.session.query(AuditLog).order_by(AuditLog.id)]
        assert actions == ["attachment.redact", "attachment.release"]
    assert client.delete(f"/api/v1/attachments/{att_id}/redactions", headers=worker).status_code == 409


@pytest.mark.skipif(not USE_REDIS, reason="without Redis processing is immediate")
def test_photo_cannot_be_released_before_processing(client, worker, media_root):
    att_id = upload(client, worker, png_bytes()).get_json()["id"]
    response = client.post(f"/api/v1/attachments/{att_id}/release", headers=worker)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "photo_not_ready"
    image = client.get(f"/api/v1/attachments/{att_id}/image.jpg", headers=worker)
    assert image.status_code == 409 and image.get_json()["error"]["photo_status"] == "pending"


def test_other_users_cannot_see_an_unattached_upload(client, worker, auth, media_root):
    att_id = upload(client, worker, png_bytes()).get_json()["id"]
    other = auth.headers("ja02g01-worker")
    assert client.get(f"/api/v1/attachments/{att_id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/attachments/{att_id}/image.jpg", headers=other).status_code == 404


def test_a_truncated_png_is_refused(client, worker, media_root):
    data = png_bytes()
    assert upload(client, worker, data[: len(data) - 6], "p.png").status_code == 422


def test_the_request_does_not_fully_decode_a_jpeg(app, client, worker, media_root, monkeypatch):
    """Only the draft (1/8 scale) decode runs on the request path; the job decodes in full."""
    data, sizes = jpeg_with_gps(size=(2400, 1800)), []
    real_load = Image.Image.load

    def load(img):
        sizes.append(img.size)
        return real_load(img)

    monkeypatch.setattr(Image.Image, "load", load)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", load, raising=True)
    monkeypatch.setattr(photos.process_attachment, "delay", lambda *a, **k: None)
    response = upload(client, worker, data)
    assert response.status_code == 201
    assert sizes and max(w for w, _ in sizes) <= 2400 // 8


def test_the_media_job_refuses_a_truncated_original(app, district, media_root):
    """Whatever reached storage, the job decodes it in full: a cut-off file ends failed, never shown."""
    data = jpeg_with_gps(size=(800, 600))
    with app.app_context():
        key, digest = media.put("originals", data[: len(data) // 2], "jpg")
        att = Attachment(sha256=digest, original_key=key, content_type="image/jpeg", format="JPEG",
                         size=len(data) // 2, width=800, height=600, status="pending", redactions=[])
        db.session.add(att)
        db.session.commit()
        assert photos.process_attachment(att.id) == "failed"
        att = db.session.get(Attachment, att.id)
        assert att.display_key is None and "truncated" in att.error
