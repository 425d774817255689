"""Citizen reports: filing (with duplicate detection and idempotency), tracking, rating, reopening,
the handler's audited view of the phone number, anonymisation, and the search feed.

No request objects here: the H5 pages, the staff API and Open311 all call these functions.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import toolkit as tk
from app.toolkit import (
    RESOLVED_STATES,
    ApiError,
    Attachment,
    Place,
    SearchableRecord,
    WorkItem,
    audit,
    db,
    holds_photos,
    in_scope,
    searchable_saved,
    utcnow,
)
from toolbox.citizen_report.manifest import CODE, MANIFEST
from toolbox.citizen_report.models import CitizenReport, ReportStatus

TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 12
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
IDEMPOTENCY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_PHOTOS = 3
DESCRIPTION_MIN, DESCRIPTION_MAX = 5, 1000
RATINGS = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
CITIZEN_STATE_LABELS = {
    "accepted": "已受理", "dispatched": "已派单，待处置部门签收", "handling": "处置中", "reviewing": "处置完毕，审核中",
    "rehandling": "再次处置中", "returned": "重新派单中", "visiting": "已办结，待回访", "closed": "已办结",
}


def categories(place: Place | None = None) -> dict[str, str]:
    """What a citizen may report (at this place: its kind's categories, likeliest first), code → name."""
    ours = {c.code for c in MANIFEST.categories}
    offered = tk.current_registry().citizen_categories(place.kind if place else None)
    return {c.code: c.name for c in offered if c.code in ours}


def _new_tracking_code() -> str:
    while True:
        code = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))
        if not db.session.execute(select(CitizenReport.id).where(CitizenReport.tracking_code == code)).first():
            return code


def normalise_tracking(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def get_by_tracking(code: str) -> CitizenReport | None:
    code = normalise_tracking(code)
    if not code or len(code) > 16:
        return None
    return db.session.execute(select(CitizenReport).where(CitizenReport.tracking_code == code)).scalar_one_or_none()


def get_by_idempotency_key(key: str | None) -> CitizenReport | None:
    if not key:
        return None
    return db.session.execute(select(CitizenReport).where(CitizenReport.idempotency_key == key)).scalar_one_or_none()


# --- input ------------------------------------------------------------------------------------

@dataclass
class Submission:
    """What a citizen (or an Open311 client) sends; validate() collects every problem at once."""

    category: str = ""
    description: str = ""
    mobile: str | None = None
    privacy_accepted: bool = False
    idempotency_key: str | None = None
    photos: list = field(default_factory=list)  # werkzeug FileStorage objects
    reporter_name: str | None = None
    email: str | None = None
    media_url: str | None = None
    lat: float | None = None
    lng: float | None = None
    address: str | None = None
    source: str = "h5"

    def validate(self, *, need_privacy: bool = True, offered: dict[str, str] | None = None) -> dict[str, str]:
        """Every problem at once; offered: the categories the citizen could pick (default: all)."""
        errors: dict[str, str] = {}
        self.category = (self.category or "").strip()
        self.description = (self.description or "").strip()
        self.mobile = re.sub(r"[\s-]", "", self.mobile or "") or None
        if self.category not in (offered if offered is not None else categories()):
            errors["category"] = "请选择问题类别"
        if len(self.description) < DESCRIPTION_MIN:
            errors["description"] = f"请描述问题（至少 {DESCRIPTION_MIN} 个字）"
        elif len(self.description) > DESCRIPTION_MAX:
            errors["description"] = f"问题描述不能超过 {DESCRIPTION_MAX} 字"
        if self.mobile and not MOBILE_RE.match(self.mobile):
            errors["mobile"] = "请填写 11 位手机号码，或留空"
        if need_privacy and not self.privacy_accepted:
            errors["privacy"] = "请阅读并同意个人信息保护告知"
        if len([p for p in self.photos if p and getattr(p, "filename", "")]) > MAX_PHOTOS:
            errors["photos"] = f"最多上传 {MAX_PHOTOS} 张照片"
        if self.idempotency_key is not None and not IDEMPOTENCY_RE.match(self.idempotency_key):
            errors["idempotency_key"] = "页面已过期，请刷新后重试"
        return errors


def invalid(errors: dict[str, str]) -> ApiError:
    return ApiError(422, "validation_error", "；".join(errors.values()), "The report is incomplete or invalid",
                    fields=errors)


# --- duplicates ---------------------------------------------------------------------------------

def open_duplicate(place: Place, category: str, *, exclude_id: int | None = None) -> CitizenReport | None:
    """The newest filed report at this place and category within the window whose work item is still open."""
    hours = current_app.config["CITIZEN_DUPLICATE_WINDOW_HOURS"]
    since = utcnow() - timedelta(hours=hours)
    stmt = (select(CitizenReport).join(WorkItem, WorkItem.id == CitizenReport.work_item_id)
            .where(CitizenReport.place_id == place.id, CitizenReport.category == category,
                   CitizenReport.status == ReportStatus.FILED, CitizenReport.created_at >= since,
                   WorkItem.state.not_in(RESOLVED_STATES))
            .order_by(CitizenReport.created_at.desc()).limit(1))
    if exclude_id is not None:
        stmt = stmt.where(CitizenReport.id != exclude_id)
    return db.session.execute(stmt).scalar_one_or_none()


# --- filing -------------------------------------------------------------------------------------

@dataclass
class FileResult:
    report: CitizenReport
    created: bool            # False: an earlier submission with the same idempotency key
    duplicate_of: CitizenReport | None = None


def _store_photos(sub: Submission) -> list[int]:
    ids = []
    for index, photo in enumerate(p for p in sub.photos if p and getattr(p, "filename", "")):
        try:
            ids.append(tk.accept_upload(photo).id)
        except ApiError as err:
            err.details.setdefault("fields", {"photos": f"第 {index + 1} 张照片：{err.message}"})
            raise
    return ids


def file_report(place: Place, sub: Submission, *, client_hash: str | None = None, check_duplicates: bool = True,
                api_key_id: int | None = None) -> FileResult:
    """Validate and file a report at place; commits. Same idempotency key → the earlier report, unchanged.

    With check_duplicates, a report like an open one (same place and category, within the window)
    is kept as a draft and the citizen is offered to join (see decide()).
    """
    earlier = get_by_idempotency_key(sub.idempotency_key)
    if earlier is not None:
        return FileResult(earlier, created=False)
    # At a scanned code the form offers the place kind's categories; an Open311 client locates the
    # report by the nearest place, so any citizen category goes there.
    on_site = sub.source == "h5"
    errors = sub.validate(need_privacy=on_site, offered=categories(place) if on_site else None)
    if errors:
        raise invalid(errors)
    duplicate = open_duplicate(place, sub.category) if check_duplicates else None
    report = CitizenReport(
        tracking_code=_new_tracking_code(), idempotency_key=sub.idempotency_key, source=sub.source,
        status=ReportStatus.DRAFT if duplicate else ReportStatus.FILED,
        place_id=place.id, place=place, org_unit_id=place.org_unit_id, org_path=place.org_path,
        category=sub.category, description=sub.description, address=sub.address or place.address,
        lat=sub.lat if sub.lat is not None else place.lat, lng=sub.lng if sub.lng is not None else place.lng,
        mobile=sub.mobile, reporter_name=sub.reporter_name, email=sub.email, media_url=sub.media_url,
        client_hash=client_hash, privacy_version=current_app.config["CITIZEN_PRIVACY_NOTICE_VERSION"],
        joined_report_id=duplicate.id if duplicate else None, api_key_id=api_key_id,
        open311_token=secrets.token_hex(16) if sub.source == "open311" else None, photo_ids=[],
    )
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:  # the same key raced in from a retry: answer with the winner
        db.session.rollback()
        winner = get_by_idempotency_key(sub.idempotency_key)
        if winner is None:
            raise
        return FileResult(winner, created=False)
    report.photo_ids = _store_photos(sub)
    if duplicate is None:
        _raise_work_item(report)
    audit.record("citizen_report.file", target_type="citizen_report", target_id=report.id, actor="citizen",
                 detail={"place": place.code, "category": report.category, "source": report.source,
                         "duplicate_of": duplicate.id if duplicate else None})
    db.session.commit()
    return FileResult(report, created=True, duplicate_of=duplicate)


def _raise_work_item(report: CitizenReport, *, title_prefix: str = "随手拍", extra: str = "") -> None:
    place = report.place
    title = f"【{title_prefix}】{place.name}：{categories()[report.category]}"
    item = tk.create_work_item(
        tool=CODE, category=report.category, title=title, org_unit=place.org_unit, source_type="report",
        source_id=report.id, description=report.description + extra, address=report.address,
        lat=report.lat, lng=report.lng, photo_ids=list(report.photo_ids or []), actor="citizen",
    )
    report.work_item_id = item.id
    report.status = ReportStatus.FILED
    _index(report, item)


def _attachments(ids) -> list[Attachment]:
    ids = [int(i) for i in ids or []]
    if not ids:
        return []
    rows = {a.id: a for a in db.session.execute(select(Attachment).where(Attachment.id.in_(ids))).scalars()}
    return [rows[i] for i in ids if i in rows]


def decide(report: CitizenReport, join: bool) -> CitizenReport:
    """The citizen's answer to the duplicate offer: join the open report, or file a new one. Commits."""
    if report.status != ReportStatus.DRAFT:
        return report  # answered already (a retried tap): nothing changes
    target = report.joined_report
    still_open = target is not None and open_duplicate(report.place, report.category, exclude_id=report.id) \
        is not None and target.work_item_id is not None
    if join and still_open:
        report.status, report.work_item_id = ReportStatus.JOINED, target.work_item_id
        _index(report, _work_item(report))
        audit.record("citizen_report.join", target_type="citizen_report", target_id=report.id, actor="citizen",
                     detail={"joined": target.id, "work_item": target.work_item_id})
    else:
        report.joined_report_id = None
        _raise_work_item(report)
        audit.record("citizen_report.file_anyway", target_type="citizen_report", target_id=report.id,
                     actor="citizen")
    db.session.commit()
    return report


DRAFT_ANSWER_MINUTES = 30


def settle_stale_drafts(now: datetime | None = None) -> int:
    """Drafts the citizen left unanswered for DRAFT_ANSWER_MINUTES join the open report (or, if it has
    been handled meanwhile, are filed on their own): a closed browser never loses a report."""
    cutoff = (now or utcnow()) - timedelta(minutes=DRAFT_ANSWER_MINUTES)
    ids = db.session.execute(select(CitizenReport.id).where(
        CitizenReport.status == ReportStatus.DRAFT, CitizenReport.created_at < cutoff)).scalars().all()
    for report_id in ids:
        report = db.session.get(CitizenReport, report_id)
        if report is not None and report.status == ReportStatus.DRAFT:
            decide(report, join=True)
    return len(ids)


# --- tracking -----------------------------------------------------------------------------------

def _work_item(report: CitizenReport):
    return db.session.get(WorkItem, report.work_item_id) if report.work_item_id else None


def work_item_of(report: CitizenReport):
    return _work_item(report)


def resolved_at(item) -> datetime | None:
    if item is None or item.state not in RESOLVED_STATES:
        return None
    return item.closed_at or item.last_action_at


def can_rate(report: CitizenReport, item=None) -> bool:
    item = item or _work_item(report)
    return item is not None and item.state in RESOLVED_STATES and report.rating is None


def reopen_deadline(report: CitizenReport, item=None) -> datetime | None:
    item = item or _work_item(report)
    at = resolved_at(item)
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=utcnow().tzinfo)
    return at + timedelta(days=current_app.config["CITIZEN_REOPEN_DAYS"])


def can_reopen(report: CitizenReport, item=None) -> bool:
    deadline = reopen_deadline(report, item)
    return deadline is not None and utcnow() <= deadline and report.status in (ReportStatus.FILED,
                                                                               ReportStatus.JOINED)


def public_photos(report: CitizenReport) -> list[dict]:
    """Only photos staff have released, through their unguessable public URL."""
    return [{"url": f"/h5/photos/{a.public_token}.jpg", "width": a.display_width, "height": a.display_height}
            for a in _attachments(report.photo_ids) if a.released and a.is_ready]


def tracking_view(report: CitizenReport) -> dict:
    """Everything the tracking page shows: no staff names, no phone numbers."""
    item = _work_item(report)
    view = tk.public_view(item) if item is not None else None
    if view is not None:
        view["citizen_state_label"] = CITIZEN_STATE_LABELS.get(view["state"], view["state_label"])
    deadline = reopen_deadline(report, item)
    return {
        "tracking_code": report.tracking_code, "status": report.status, "place": report.place.name
        if report.place else None, "address": report.address, "category": categories().get(report.category),
        "category_code": report.category, "description": report.description,
        "created_at": report.created_at, "photos": public_photos(report), "photo_count": len(report.photo_ids or []),
        "work_item": view, "resolved": item is not None and item.state in RESOLVED_STATES,
        "closed": item is not None and item.state == "closed",
        "rating": report.rating, "rating_label": RATINGS.get(report.rating or ""), "can_rate": can_rate(report, item),
        "can_reopen": can_reopen(report, item), "reopen_deadline": deadline, "reopen_count": report.reopen_count,
        "joined": report.status == ReportStatus.JOINED, "has_mobile": bool(report.mobile),
    }


def duplicate_view(original: CitizenReport) -> dict:
    """What a citizen offered to join an open report sees of it: the place, the category, the status and
    the public timeline — never the other citizen's description, photos, contact or tracking code."""
    item = _work_item(original)
    view = tk.public_view(item) if item is not None else None
    return {
        "place": original.place.name if original.place else None,
        "category": categories().get(original.category), "created_at": original.created_at,
        "state_label": CITIZEN_STATE_LABELS.get(view["state"], view["state_label"]) if view else None,
        "timeline": [{k: step[k] for k in ("at", "label", "unit")} for step in view["timeline"]] if view else [],
    }


def rate(report: CitizenReport, rating: str, comment: str | None = None) -> CitizenReport:
    """The citizen's satisfaction (feeds the 回访); once per handling. Commits."""
    if rating not in RATINGS:
        raise ApiError(422, "invalid_rating", "请选择满意度", "Rating must be satisfied, basic or unsatisfied",
                       fields={"rating": "请选择满意度"})
    if report.rating is not None:
        raise ApiError(409, "already_rated", "您已评价过", "This report was already rated")
    if not can_rate(report):
        raise ApiError(409, "not_resolved", "问题办结后才能评价", "Only a handled report can be rated")
    report.rating, report.rated_at = rating, utcnow()
    report.rating_comment = (comment or "").strip()[:500] or None
    audit.record("citizen_report.rate", target_type="citizen_report", target_id=report.id, actor="citizen",
                 detail={"rating": rating, "work_item": report.work_item_id})
    _tell_follow_up(report)
    db.session.commit()
    return report


def _tell_follow_up(report: CitizenReport) -> None:
    """The rating feeds the 回访: the dispatching unit's staff hear it on WeCom (after commit)."""
    item = _work_item(report)
    if item is None:
        return
    userids = tk.unit_staff(item.dispatch_unit, (tk.Role.OPERATOR, tk.Role.MANAGER))
    if not userids:
        return
    hint = "。"
    if item.state == "visiting":
        hint = "。可据此回访或重办。" if report.rating == "unsatisfied" else "。可据此完成回访。"
    text = (f"市民评价：{RATINGS[report.rating]}"
            + (f"。意见：{report.rating_comment}" if report.rating_comment else "") + hint)
    card = tk.message(item, text)  # a text card opening the item in the workbench, where the 回访 is done
    tk.send_card_message.delay(userids, f"【随手拍回访】{card.title}", card.description, card.path)


def reopen(report: CitizenReport, reason: str) -> CitizenReport:
    """Not fixed: a new work item for the same report, linked to the old one. Commits."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ApiError(422, "reason_required", "请说明仍未解决的情况", "Say what is still wrong",
                       fields={"reason": "请说明仍未解决的情况"})
    old = _work_item(report)
    if not can_reopen(report, old):
        raise ApiError(409, "reopen_not_allowed", "该问题当前不能申请重新办理（未办结或已超过期限）",
                       "The report cannot be reopened now (not handled, or the window has passed)")
    report.previous_work_item_ids = [*(report.previous_work_item_ids or []), old.id]
    report.reopen_count += 1
    report.rating = report.rating_comment = report.rated_at = None
    report.description = f"{report.description}\n【市民反映仍未解决】{reason[:500]}"
    _raise_work_item(report, title_prefix="随手拍·重新办理", extra=f"\n（原工单 {old.number}）")
    audit.record("citizen_report.reopen", target_type="citizen_report", target_id=report.id, actor="citizen",
                 detail={"previous": old.number, "work_item": report.work_item_id})
    db.session.commit()
    return report


# --- staff ----------------------------------------------------------------------------------------

def staff_may_read(user, report: CitizenReport) -> bool:
    """Staff in scope of the place, or anyone who may read the work item the report is handled in."""
    if in_scope(user, report.org_path):
        return True
    item = _work_item(report)
    return item is not None and tk.can_view(user, item)


def staff_may_edit(user, report: CitizenReport) -> bool:
    """Black out and release the citizen's photos: the place's staff, the handling or dispatching unit."""
    if in_scope(user, report.org_path):
        return True
    item = _work_item(report)
    return item is not None and (in_scope(user, item.org_path) or in_scope(user, item.dispatch_path))


holds_photos(CitizenReport, may_read=staff_may_read, may_edit=staff_may_edit)


def staff_view(report: CitizenReport) -> dict:
    item = _work_item(report)
    return {
        "id": report.id, "status": report.status, "source": report.source,
        "place": report.place.to_dict() if report.place else None, "category": report.category,
        "category_name": categories().get(report.category), "description": report.description,
        "address": report.address, "lat": report.lat, "lng": report.lng,
        "photos": [a.to_dict() for a in _attachments(report.photo_ids)], "media_url": report.media_url,
        "mobile": report.masked_mobile, "has_mobile": bool(report.mobile),
        "reporter_name": None if not report.reporter_name else report.reporter_name[0] + "*",
        "privacy_version": report.privacy_version,
        "work_item": {"id": item.id, "number": item.number, "state": item.state,
                      "unit": item.org_unit.to_summary()} if item else None,
        "joined_report_id": report.joined_report_id, "previous_work_item_ids": report.previous_work_item_ids,
        "reopen_count": report.reopen_count, "rating": report.rating, "rating_comment": report.rating_comment,
        "anonymised": report.anonymised_at is not None,
        "created_at": report.created_at.isoformat() if report.created_at else None,
    }


def reveal_contact(report: CitizenReport, user) -> dict:
    """The unmasked phone number, only for the handler the work item is assigned to; audited either way."""
    item = _work_item(report)
    allowed = item is not None and item.assignee_id is not None and item.assignee_id == user.id
    audit.record("citizen_report.contact_view", target_type="citizen_report", target_id=report.id, actor=user,
                 outcome="ok" if allowed else "denied",
                 detail={"work_item": report.work_item_id, "has_mobile": bool(report.mobile)})
    db.session.commit()
    if not allowed:
        raise ApiError(403, "not_assigned_handler", "只有签收该工单的处置人员可以查看市民联系方式",
                       "Only the handler the work item is assigned to may see the citizen's contact")
    if report.mobile is None:
        raise ApiError(404, "no_contact", "市民未留联系方式或已匿名化", "No contact was left, or it was anonymised")
    return {"mobile": report.mobile, "name": report.reporter_name, "email": report.email}


# --- retention ------------------------------------------------------------------------------------

def months_before(at: datetime, months: int) -> datetime:
    year, month = divmod(at.month - 1 - months, 12)
    year, month = at.year + year, month + 1
    for day in (at.day, 30, 29, 28):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError("unreachable")


def anonymise_closed_reports(now: datetime | None = None) -> int:
    """Erase contact data of reports whose work item closed more than N months ago; the case stays."""
    now = now or utcnow()
    cutoff = months_before(now, current_app.config["CITIZEN_ANONYMISE_AFTER_MONTHS"])
    rows = db.session.execute(
        select(CitizenReport).join(WorkItem, WorkItem.id == CitizenReport.work_item_id)
        .where(CitizenReport.anonymised_at.is_(None), WorkItem.state == "closed", WorkItem.closed_at < cutoff)
    ).scalars().all()
    for report in rows:
        report.mobile = report.reporter_name = report.email = report.client_hash = None
        report.anonymised_at = now
    if rows:
        audit.record("citizen_report.anonymise", target_type="citizen_report", actor="system",
                     detail={"count": len(rows), "ids": [r.id for r in rows][:200], "cutoff": cutoff.isoformat()})
    db.session.commit()
    return len(rows)


# --- search ----------------------------------------------------------------------------------------

def search_record(report: CitizenReport, item=None) -> SearchableRecord:
    item = item or _work_item(report)
    place = report.place
    return SearchableRecord(
        tool=CODE, type="report", id=str(report.id), org_path=item.org_path if item else report.org_path,
        title=f"随手拍：{place.name if place else ''} {categories().get(report.category, '')}".strip(),
        address=report.address or "", text=report.description,
        status=item.state if item else report.status, updated_at=report.updated_at,
    )


def _index(report: CitizenReport, item=None) -> None:
    searchable_saved.send(CODE, record=search_record(report, item))


def search_documents():
    for report in db.session.execute(select(CitizenReport).where(
            CitizenReport.status.in_([ReportStatus.FILED, ReportStatus.JOINED])).order_by(CitizenReport.id)).scalars():
        yield search_record(report)


def on_work_item_changed(sender, **kw) -> None:
    """Keep the search index (status, scope) in step with our reports' work items."""
    reports = db.session.execute(select(CitizenReport).where(CitizenReport.work_item_id == kw["item_id"])).scalars()
    touched = False
    for report in reports:
        _index(report, _work_item(report))
        touched = True
    if touched:
        db.session.commit()
