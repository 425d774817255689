"""Who may see a photo: exactly those who may read a record that holds it.

A record kind that carries photos says so once, beside its own read rule:

    holds_photos(Inspection, may_read=lambda user, inspection: in_scope(user, inspection.site.org_path))

From then on every flush keeps `attachment_link` in step with the records' `photo_ids` (new,
changed and deleted records alike), so no code path can forget to bind a photo, and the access
check asks the holding records themselves — the work item where it is now, not a copy of a path
taken when the photo was attached. A work item moves (forward, reassign, return, dispatch) and its
photos follow it. A photo no record holds yet is its uploader's only. A photo's public release
for the citizen page is separate: /h5/photos/<token>.jpg serves released photos to anyone.

Work items hold photos too; they are declared here, since the workflow is core.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, event, func, insert, literal, select
from sqlalchemy.orm import Session, attributes

from app.extensions import db
from app.models.attachment import Attachment, AttachmentLink


@dataclass(frozen=True)
class PhotoHolder:
    model: type
    may_read: Callable[[object, object], bool]   # (user, record) -> bool
    may_edit: Callable[[object, object], bool]   # black out and release: the record's own staff
    attribute: str = "photo_ids"

    @property
    def kind(self) -> str:
        return self.model.__tablename__

    def photo_ids(self, record) -> list[int]:
        return sorted({int(i) for i in (getattr(record, self.attribute) or ())})


_HOLDERS: dict[str, PhotoHolder] = {}
_BY_MODEL: dict[type, PhotoHolder] = {}


def holds_photos(model: type, *, may_read: Callable[[object, object], bool],
                 may_edit: Callable[[object, object], bool] | None = None, attribute: str = "photo_ids") -> None:
    """Declare that records of `model` carry photos in `attribute` (a list of attachment ids).

    may_read(user, record) is who may read such a record; may_edit(user, record) (default: may_read)
    who may black out and release its photos. Declaring a model twice replaces the declaration.
    """
    holder = PhotoHolder(model=model, may_read=may_read, may_edit=may_edit or may_read, attribute=attribute)
    _HOLDERS[holder.kind] = holder
    _BY_MODEL[model] = holder


def holders() -> dict[str, PhotoHolder]:
    return dict(_HOLDERS)


# --- keeping the links ----------------------------------------------------------------------------

def _holder_of(obj) -> PhotoHolder | None:
    return _BY_MODEL.get(type(obj))


def _holder_id(holder: PhotoHolder, record) -> str:
    # The primary key attribute, not the identity key: new records get theirs only after after_flush.
    return str(holder.model.__mapper__.primary_key_from_instance(record)[0])


def _link_rows(conn, holder: PhotoHolder, record) -> None:
    holder_id = _holder_id(holder, record)
    conn.execute(delete(AttachmentLink).where(AttachmentLink.holder_kind == holder.kind,
                                              AttachmentLink.holder_id == holder_id))
    ids = holder.photo_ids(record)
    if ids:  # only photos that exist: an unknown id links nothing
        rows = select(Attachment.id, literal(holder.kind), literal(holder_id)).where(Attachment.id.in_(ids))
        conn.execute(insert(AttachmentLink).from_select(["attachment_id", "holder_kind", "holder_id"], rows))


@event.listens_for(Session, "after_flush")
def _keep_links(session, flush_context) -> None:
    """After each flush: new holders get their links, changed photo lists replace them, deleted holders drop them."""
    if not _BY_MODEL:
        return
    conn = None
    for obj in [*session.new, *session.dirty, *session.deleted]:
        holder = _holder_of(obj)
        if holder is None:
            continue
        if obj in session.dirty and obj not in session.deleted \
                and not attributes.get_history(obj, holder.attribute).has_changes():
            continue
        conn = conn or session.connection()
        if obj in session.deleted:
            conn.execute(delete(AttachmentLink).where(AttachmentLink.holder_kind == holder.kind,
                                                      AttachmentLink.holder_id == _holder_id(holder, obj)))
        else:
            _link_rows(conn, holder, obj)


def relink_all(progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Rebuild every link from the holders' photo lists (after an upgrade or a restore); returns links per kind."""
    counts: dict[str, int] = {}
    for holder in _HOLDERS.values():
        db.session.execute(delete(AttachmentLink).where(AttachmentLink.holder_kind == holder.kind))
        pk = holder.model.__mapper__.primary_key[0]
        last = None
        while True:
            stmt = select(holder.model).order_by(pk).limit(500)
            if last is not None:
                stmt = stmt.where(pk > last)
            batch = db.session.execute(stmt).scalars().all()
            if not batch:
                break
            conn = db.session.connection()
            for record in batch:
                _link_rows(conn, holder, record)
            last = getattr(batch[-1], pk.key)
            if progress:
                progress(holder.kind, len(batch))
        counts[holder.kind] = db.session.execute(select(func.count()).where(
            AttachmentLink.holder_kind == holder.kind)).scalar_one()
    db.session.commit()
    return counts


# --- the access check -----------------------------------------------------------------------------

def _holding_records(att: Attachment) -> Iterable[tuple[PhotoHolder, object]]:
    rows = db.session.execute(select(AttachmentLink.holder_kind, AttachmentLink.holder_id)
                              .where(AttachmentLink.attachment_id == att.id)).all()
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, holder_id in rows:
        by_kind[kind].append(holder_id)
    for kind, ids in sorted(by_kind.items()):
        holder = _HOLDERS.get(kind)
        if holder is None:
            continue  # a tool that is not loaded: its records grant nothing
        pk = holder.model.__mapper__.primary_key[0]
        keys = [pk.type.python_type(i) for i in ids]
        for record in db.session.execute(select(holder.model).where(pk.in_(keys))).scalars():
            yield holder, record


def is_held(att: Attachment) -> bool:
    return db.session.execute(select(AttachmentLink.id).where(AttachmentLink.attachment_id == att.id)
                              .limit(1)).first() is not None


def _own_loose_upload(user, att: Attachment) -> bool:
    return att.uploader_id is not None and att.uploader_id == getattr(user, "id", None) and not is_held(att)


def may_read(user, att: Attachment) -> bool:
    """Whoever may read a record holding the photo; a photo held by none: only its uploader."""
    if _own_loose_upload(user, att):
        return True
    return any(holder.may_read(user, record) for holder, record in _holding_records(att))


def may_edit(user, att: Attachment) -> bool:
    """Black out areas and release for the public: the holding records' own staff (or the uploader, before)."""
    if _own_loose_upload(user, att):
        return True
    return any(holder.may_edit(user, record) for holder, record in _holding_records(att))


# --- work items hold photos ---------------------------------------------------------------------

def _work_item_readable(user, item) -> bool:
    from app.services.workflow import can_view

    return can_view(user, item)


def _work_item_editable(user, item) -> bool:
    from app.services.scope import in_scope

    return in_scope(user, item.org_path) or in_scope(user, item.dispatch_path)


def _declare_core_holders() -> None:
    from app.models.workitem import WorkItem

    holds_photos(WorkItem, may_read=_work_item_readable, may_edit=_work_item_editable)


_declare_core_holders()
