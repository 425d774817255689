"""No orphan files: a refused or rolled-back upload leaves no original; a periodic job removes the rest."""

from __future__ import annotations

import io
import os
import time

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.services import media
from app.services.media_hygiene import remove_orphan_media
from app.services.photos import accept_upload
from toolbox.citizen_report.tests.helpers import form, make_place, photo, submit


def png(n: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (n, 90, 160)).save(buf, "PNG")
    return buf.getvalue()


def stored(media_root, area="originals") -> list[str]:
    return sorted(p.name for p in (media_root / area).rglob("*") if p.is_file()) if (media_root / area).exists() else []


def upload(data: bytes):
    return accept_upload(FileStorage(io.BytesIO(data), filename="p.png"))


def test_a_rolled_back_upload_leaves_no_original(ctx, media_root):
    upload(png(1))
    assert len(stored(media_root)) == 1
    db.session.rollback()
    assert stored(media_root) == []


def test_a_committed_upload_keeps_its_original_and_a_later_rollback_of_the_same_bytes_keeps_it(ctx, media_root):
    upload(png(2))
    db.session.commit()
    upload(png(2))          # the same bytes again, in a transaction that then fails
    db.session.rollback()
    assert len(stored(media_root)) == 1


def test_a_refused_citizen_submission_leaves_no_photo_on_disk(app, client, district, media_root):
    place = make_place(app, district)
    response = submit(client, place, form(photos=[photo(), b"not an image at all"]))
    assert response.status_code == 422
    assert stored(media_root) == []


def test_the_periodic_job_removes_old_unreferenced_files_only(app, ctx, media_root):
    upload(png(3))
    db.session.commit()
    orphan_old, _ = media.put("originals", b"left by a crash long ago", "jpg")
    orphan_new, _ = media.put("derived", b"an upload in flight", "jpg")
    for key in (orphan_old, *[k for k in stored_keys(media_root) if k != orphan_new]):
        past = time.time() - 3 * 24 * 3600
        os.utime(media.path(key), (past, past))
    assert remove_orphan_media() == 1
    assert not media.exists(orphan_old) and media.exists(orphan_new)
    assert len(stored(media_root)) == 1   # the referenced photo stays, however old


def stored_keys(media_root) -> list[str]:
    return [str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file()]


@pytest.fixture(autouse=True)
def _media(media_root):
    return media_root
