"""Photos: upload, processing status, staff view, black-out areas, release for the public."""

from __future__ import annotations

from flask import Response, jsonify, request
from marshmallow import Schema, fields, validate

from app.api import parse_json
from app.auth import current_user
from app.errors import ApiError
from app.extensions import db
from app.models.attachment import Attachment
from app.schemas import several
from app.services import attachments, media, photos
from miniprogram_api import bp
from miniprogram_api.openapi import FileUpload, doc


class AttachmentOut(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    status = fields.String(metadata={"description": "pending | ready | failed"})
    error = fields.String(allow_none=True)
    content_type = fields.String()
    size, width, height = several(fields.Integer, 3)
    display_width, display_height = several(fields.Integer, 2, allow_none=True)
    redactions = fields.List(fields.Dict())
    released = fields.Boolean()
    released_at = fields.String(allow_none=True)
    url = fields.String()
    thumbnail_url = fields.String()
    public_url = fields.String(allow_none=True)


class RectIn(Schema):
    x = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    y = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    w = fields.Float(required=True, validate=validate.Range(min=0, max=1, min_inclusive=False))
    h = fields.Float(required=True, validate=validate.Range(min=0, max=1, min_inclusive=False))


class RedactIn(Schema):
    areas = fields.List(fields.Nested(RectIn), required=True, validate=validate.Length(min=1, max=50),
                        metadata={"description": "rectangles as fractions of the image"})


class ReleaseIn(Schema):
    released = fields.Boolean(load_default=True)


def load_attachment(attachment_id: int, *, edit: bool = False) -> Attachment:
    """The attachment if the caller may read (or, with edit, black out and release) a record holding it."""
    user = current_user()
    att = db.session.get(Attachment, attachment_id)
    if att is None or not attachments.may_read(user, att):
        raise ApiError(404, "attachment_not_found", "照片不存在", "No such photo")
    if edit and not attachments.may_edit(user, att):
        raise ApiError(403, "photo_edit_forbidden", "只有经办单位可以遮挡或公开照片",
                       "Only the handling or dispatching unit may black out or release this photo")
    return att


@bp.post("/attachments")
@doc("Upload a photo (multipart field `file`); it is cleaned and resized in the background", tags=("media",),
     form=FileUpload, response=AttachmentOut, status=201, errors=(413,))
def upload_attachment():
    """Accept one photo; 413 when too large (bytes or pixels), 422 when not an allowed image."""
    att = photos.accept_upload(request.files.get("file") or request.files.get("photo"),
                               uploader_id=current_user().id)
    db.session.commit()
    db.session.refresh(att)
    return jsonify(att.to_dict()), 201


@bp.get("/attachments/<int:attachment_id>")
@doc("A photo's metadata and processing status", tags=("media",), response=AttachmentOut, errors=(404,))
def get_attachment(attachment_id: int):
    """Metadata of one photo."""
    return jsonify(load_attachment(attachment_id).to_dict())


def _send(att: Attachment, key: str | None):
    if not att.is_ready or not media.exists(key):
        raise ApiError(409, "photo_not_ready", "照片处理中，请稍后", "The photo is still being processed",
                       photo_status=att.status)
    # Content-addressed: the key's hash is a strong ETag. Bytes, not a file handle: photos are small.
    response = Response(media.read(key), mimetype="image/jpeg")
    response.set_etag(key.rsplit("/", 1)[-1].split(".")[0])
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.make_conditional(request)
    return response


@bp.get("/attachments/<int:attachment_id>/image.jpg")
@doc("The cleaned photo (EXIF stripped, ≤1600 px, redactions applied)", tags=("media",), errors=(404, 409),
     content_type="image/jpeg")
def attachment_image(attachment_id: int):
    """Staff view of the processed photo (never the original)."""
    att = load_attachment(attachment_id)
    return _send(att, att.display_key)


@bp.get("/attachments/<int:attachment_id>/thumb.jpg")
@doc("The photo's thumbnail", tags=("media",), errors=(404, 409), content_type="image/jpeg")
def attachment_thumb(attachment_id: int):
    """Staff view of the thumbnail."""
    att = load_attachment(attachment_id)
    return _send(att, att.thumb_key)


@bp.post("/attachments/<int:attachment_id>/redactions")
@doc("Black out areas (faces, number plates) before release", tags=("media",), body=RedactIn,
     response=AttachmentOut, errors=(403, 404, 409))
def redact_attachment(attachment_id: int):
    """Add black rectangles; the display copy and thumbnail are re-rendered at once."""
    att = load_attachment(attachment_id, edit=True)
    args = parse_json(RedactIn())
    photos.redact(att, args["areas"], current_user())
    db.session.commit()
    return jsonify(att.to_dict())


@bp.delete("/attachments/<int:attachment_id>/redactions")
@doc("Remove black-out areas (only before release)", tags=("media",), response=AttachmentOut,
     errors=(403, 404, 409))
def clear_attachment_redactions(attachment_id: int):
    """Undo the black-out areas of an unreleased photo."""
    att = load_attachment(attachment_id, edit=True)
    photos.clear_redactions(att, current_user())
    db.session.commit()
    return jsonify(att.to_dict())


@bp.post("/attachments/<int:attachment_id>/release")
@doc("Release a photo to the public tracking page (or withdraw it with released=false)", tags=("media",),
     body=ReleaseIn, response=AttachmentOut, errors=(403, 404, 409))
def release_attachment(attachment_id: int):
    """Only released photos ever appear on public pages."""
    att = load_attachment(attachment_id, edit=True)
    args = parse_json(ReleaseIn()) if request.get_data() else {"released": True}
    photos.release(att, current_user(), args["released"])
    db.session.commit()
    return jsonify(att.to_dict())
