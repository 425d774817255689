"""One way a page takes a submission: idempotency key, form reading, photos, the service, the answer.

    return handle_form(form, save=lambda values: ..., fallback_url=...)

GET shows the form with a fresh idempotency key. POST claims the key (a retry is sent where the
first submission led, nothing is applied twice), reads and checks the fields, stores the photos,
calls save(values) — the service call, which returns the URL to show next — and commits. A refusal
(missing fields, a 422/409 from the service) shows the form again with the input and the same key;
the page's script (fetch) gets the same answers as JSON and keeps the page, files included.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import g, jsonify, redirect, render_template, request

from app.errors import ApiError
from app.extensions import db
from app.services import idempotency
from app.services.photos import accept_upload
from app.web import new_idempotency_key
from app.web.screens import Form, flatten_errors, form_values_for_template, read_form
from app.web.session import wants_json


def go(url: str):
    if wants_json():
        return jsonify({"ok": True, "redirect": url})
    return redirect(url, code=303)


def _store_photos(form: Form, values: dict, user, errors: dict) -> None:
    """Uploaded files become attachment ids (the services bind them to the record's scope)."""
    def store(files, error_key):
        ids = []
        for index, upload in enumerate(files):
            try:
                ids.append(accept_upload(upload, uploader_id=user.id).id)
            except ApiError as err:
                errors[error_key] = f"第 {index + 1} 张照片：{err.message}"
        return ids

    for f in form.fields:
        if f.type == "photos":
            values[f.name] = store(values[f.name] or [], f.name)
        elif f.type == "checklist":
            for line in values[f.name]:
                line["photo_ids"] = store(line.pop("photos"), f"{f.name}.{line['item']}")


def render_form(form: Form, *, values: dict | None = None, errors: dict | None = None, message: str | None = None,
                key: str | None = None, status: int = 200, template: str = "web/form.html", **context):
    if wants_json() and request.method == "POST":
        body = {"ok": False, "errors": errors or {}, "message": message or "提交未成功，请检查后重试"}
        return jsonify(body), status
    return render_template(template, form=form, values=values or {}, errors=errors or {}, message=message,
                           idempotency_key=key or new_idempotency_key(), **context), status


def handle_form(form: Form, *, save: Callable[[dict], str], fallback_url: str, initial: dict | None = None,
                template: str = "web/form.html", **context):
    """Show form (GET) or apply it once (POST). save(values) → the URL to show next."""
    if request.method != "POST":
        return render_form(form, values=initial, template=template, **context)
    user = g.user
    key = request.form.get("idempotency_key")
    shown = form_values_for_template(form, request.form)

    def refuse(errors=None, message=None, status=422):
        db.session.rollback()
        return render_form(form, values=shown, errors=errors, message=message, key=key, status=status,
                           template=template, **context)

    try:
        earlier, claimed = idempotency.claim(user, key, scope=request.path)
    except ApiError as err:
        return refuse(message=err.message, status=err.status)
    if earlier is not None:
        return go(earlier.result_url or fallback_url)
    values, errors = read_form(form, request.form, request.files)
    if not errors:
        _store_photos(form, values, user, errors)
    if errors:
        return refuse(errors, "请检查标红的内容")
    try:
        url = save(values)
    except ApiError as err:
        fields = err.details.get("fields")
        return refuse(flatten_errors(fields) if isinstance(fields, dict) else None, err.message, err.status)
    claimed.result_url = url
    db.session.commit()
    return go(url)
