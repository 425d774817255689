"""The photo pipeline: accept_upload() validates and stores; a `media` job cleans and resizes.

    att = accept_upload(request.files["photo"], uploader_id=user.id)   # 413/422 ApiError if refused
    db.session.commit()                                               # the media job runs after this

Validation happens on the request path, cheaply: the byte size, then Pillow reads only the
header (format, pixel count — decompression bombs are refused before any pixel is decoded),
then a full decode of an image already known to be of a sane size. Cleaning happens in the
job: orientation applied, every metadata block (EXIF, GPS, XMP, ICC, comments) dropped by
re-encoding bare pixels, longest side ≤ PHOTO_MAX_SIDE, and a thumbnail.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterable

from flask import current_app
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.jobs import job
from app.models.attachment import Attachment, AttachmentStatus
from app.models.base import utcnow
from app.services import attachments, audit, media

log = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
JPEG_QUALITY = 85


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "photo_too_large", f"照片不能超过 {limit // (1024 * 1024)} MB",
                    f"The photo exceeds {limit} bytes", max_bytes=limit)


def _invalid(detail: str) -> ApiError:
    return ApiError(422, "photo_invalid", "无法识别的图片，请上传 JPG、PNG 或 WEBP 照片",
                    "The file is not an image of an allowed format (JPEG, PNG, WEBP)", reason=detail)


def _read_limited(file_storage, limit: int) -> bytes:
    stream = getattr(file_storage, "stream", file_storage)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def inspect(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of an acceptable image, or ApiError 413/422."""
    max_pixels = current_app.config["PHOTO_MAX_PIXELS"]
    if not data:
        raise _invalid("empty file")
    with warnings.catch_warnings():
        # Pillow warns at MAX_IMAGE_PIXELS and errors at twice that; our own limit comes first.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt, (width, height) = img.format, img.size
                if fmt not in ALLOWED_FORMATS:
                    raise _invalid(f"format {fmt} is not allowed")
                if width * height > max_pixels:
                    raise _pixel_bomb(width, height, max_pixels)
                img.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()  # a full decode catches truncated files that verify() lets through
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ApiError(413, "photo_too_many_pixels", "照片像素过多", "The image has too many pixels",
                           max_pixels=max_pixels) from exc
        except ApiError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise _invalid(str(exc) or type(exc).__name__) from exc
    return fmt, width, height


def _pixel_bomb(width: int, height: int, max_pixels: int) -> ApiError:
    return ApiError(413, "photo_too_many_pixels", "照片像素过多，请压缩后再上传",
                    "The image has too many pixels", width=width, height=height, max_pixels=max_pixels)


def accept_upload(file_storage, *, uploader_id: int | None = None) -> Attachment:
    """Validate and store an uploaded photo; queue its cleaning on the `media` queue.

    Adds the Attachment to the session (the caller commits); the job is queued after commit.
    Raises ApiError 413 (too many bytes or pixels) or 422 (not an allowed image).
    """
    if file_storage is None:
        raise ApiError(422, "photo_missing", "请选择照片", "No photo was uploaded")
    data = _read_limited(file_storage, current_app.config["PHOTO_MAX_BYTES"])
    fmt, width, height = inspect(data)
    content_type, ext = ALLOWED_FORMATS[fmt]
    key, digest = media.put("originals", data, ext)
    att = Attachment(
        sha256=digest, original_key=key, filename=(getattr(file_storage, "filename", None) or None),
        content_type=content_type, format=fmt, size=len(data), width=width, height=height,
        status=AttachmentStatus.PENDING, redactions=[], uploader_id=uploader_id,
    )
    db.session.add(att)
    db.session.flush()
    process_attachment.delay(att.id)
    return att


# --- rendering ---------------------------------------------------------------------------------

def _bare_rgb(img: Image.Image) -> Image.Image:
    """Pixels only: orientation applied, alpha flattened on white, no metadata carried over."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    elif img.mode != "RGB":
        img = img.convert("RGB")
    bare = Image.new("RGB", img.size)
    bare.paste(img)
    return bare


def _black_out(img: Image.Image, rects: Iterable[dict]) -> None:
    draw = ImageDraw.Draw(img)
    w, h = img.size
    for r in rects:
        x0, y0 = int(r["x"] * w), int(r["y"] * h)
        x1, y1 = int((r["x"] + r["w"]) * w + 0.999), int((r["y"] + r["h"]) * h + 0.999)
        draw.rectangle([x0, y0, min(x1, w) - 1, min(y1, h) - 1], fill=(0, 0, 0))


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif=/icc_profile=: nothing carried
    return buf.getvalue()


def render(att: Attachment) -> None:
    """(Re)build the display copy and thumbnail of att from its original and its redactions."""
    max_side = current_app.config["PHOTO_MAX_SIDE"]
    thumb_side = current_app.config["PHOTO_THUMB_SIDE"]
    with Image.open(media.path(att.original_key)) as original:
        img = _bare_rgb(original)
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    _black_out(img, att.redactions or [])
    display_key, _ = media.put("derived", _jpeg(img), "jpg")
    thumb = img.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    thumb_key, _ = media.put("derived", _jpeg(thumb), "jpg")
    att.display_key, att.thumb_key = display_key, thumb_key
    att.display_width, att.display_height = img.size
    att.status, att.error = AttachmentStatus.READY, None


def _processing_given_up(attachment_id: int) -> None:
    """Every attempt died (its workers were killed): say so instead of `processing` for ever."""
    att = db.session.get(Attachment, attachment_id)
    if att is not None and att.status in (AttachmentStatus.PENDING, AttachmentStatus.PROCESSING):
        att.status, att.error = AttachmentStatus.FAILED, "处理中断，已放弃 (the media job was abandoned)"
        db.session.commit()


@job("media", timeout=300, give_up=_processing_given_up)
def process_attachment(attachment_id: int) -> str:
    """Strip metadata, orient, resize and thumbnail one attachment (again, if a worker died mid-way)."""
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        log.warning("attachment %s vanished before processing", attachment_id)
        return "missing"
    if att.status == AttachmentStatus.PENDING:
        att.status = AttachmentStatus.PROCESSING  # visible while at work; stays so if this worker dies
        db.session.commit()
    try:
        render(att)
    except (OSError, ValueError) as exc:
        att.status, att.error = AttachmentStatus.FAILED, f"{type(exc).__name__}: {exc}"
        log.error("attachment %s failed processing: %s", attachment_id, exc)
    db.session.commit()
    return att.status


# --- staff actions -----------------------------------------------------------------------------

def _check_rect(r) -> dict:
    try:
        rect = {k: float(r[k]) for k in ("x", "y", "w", "h")}
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(422, "invalid_redaction", "遮挡区域格式有误", "Each area needs x, y, w, h") from exc
    if not (0 <= rect["x"] < 1 and 0 <= rect["y"] < 1 and 0 < rect["w"] <= 1 and 0 < rect["h"] <= 1):
        raise ApiError(422, "invalid_redaction", "遮挡区域超出照片范围",
                       "Areas are fractions of the image: 0 ≤ x, y < 1 and 0 < w, h ≤ 1")
    return rect


def redact(att: Attachment, rects: list, actor) -> Attachment:
    """Black out areas (fractions of the image) and re-render now; the caller commits."""
    if att.status == AttachmentStatus.FAILED:
        raise ApiError(409, "photo_failed", "照片处理失败，无法遮挡", "The photo could not be processed")
    att.redactions = [*(att.redactions or []), *(_check_rect(r) for r in rects)]
    render(att)
    audit.record("attachment.redact", target_type="attachment", target_id=att.id,
                 detail={"areas": len(att.redactions)}, actor=actor)
    return att


def clear_redactions(att: Attachment, actor) -> Attachment:
    if att.released:
        raise ApiError(409, "photo_released", "照片已公开，不能撤销遮挡", "A released photo keeps its redactions")
    att.redactions = []
    render(att)
    audit.record("attachment.redact_clear", target_type="attachment", target_id=att.id, actor=actor)
    return att


def release(att: Attachment, actor, released: bool = True) -> Attachment:
    """Allow (or withdraw) showing the photo publicly; the caller commits."""
    if released and att.status != AttachmentStatus.READY:
        raise ApiError(409, "photo_not_ready", "照片尚未处理完成，不能公开", "The photo is not processed yet")
    att.released = released
    att.released_at = utcnow() if released else None
    att.released_by_id = getattr(actor, "id", None) if released else None
    audit.record("attachment.release" if released else "attachment.withdraw", target_type="attachment",
                 target_id=att.id, actor=actor)
    return att


def bind_photos(photo_ids: Iterable[int], actor) -> list[int]:
    """Check photos a staff member attaches to a record; return their ids (422 naming unknown ones).

    Each must be the actor's own upload or a photo they may already see. Storing the ids on a record
    declared with attachments.holds_photos() is what binds them: from then on the photo is read by
    whoever may read that record.
    """
    ids = list(dict.fromkeys(int(i) for i in photo_ids))
    if not ids:
        return []
    with db.session.no_autoflush:  # called while the holding record is being built: do not flush it half-made
        found = db.session.execute(select(Attachment).where(Attachment.id.in_(ids))).scalars().all()
        usable = {a.id for a in found if attachments.may_read(actor, a)}
    missing = [i for i in ids if i not in usable]
    if missing:
        raise ApiError(422, "photo_not_found", "照片不存在或未上传成功，请重新上传", "Unknown photo ids",
                       photo_ids=missing)
    return ids
