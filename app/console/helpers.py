"""What every console page shares: server-side paging, filters from the URL, confirmations, unit look-up."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request
from sqlalchemy import func, select
from sqlalchemy.sql import Select

from app.extensions import db
from app.models.org import OrgUnit

PER_PAGE = 20


@dataclass
class Page:
    items: list
    page: int
    pages: int
    total: int


def paged(statement: Select, per_page: int = PER_PAGE) -> Page:
    """One page of statement, the page number read from ?page= (out of range: the last page)."""
    total = db.session.execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()
    pages = max(1, (total + per_page - 1) // per_page)
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return Page(rows, page, pages, total)


def arg(name: str) -> str:
    """A filter from the URL, stripped ('' when absent)."""
    return (request.args.get(name) or "").strip()


def unit_by_code(code: str) -> OrgUnit | None:
    code = (code or "").strip()
    if not code:
        return None
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()


def streets() -> list[OrgUnit]:
    return db.session.execute(select(OrgUnit).where(OrgUnit.level == "street")
                              .order_by(OrgUnit.sort_order, OrgUnit.code)).scalars().all()


def confirmed() -> bool:
    return request.form.get("confirmed") == "1"


def ask_to_confirm(title: str, message: str, *, details: list[str] = (), danger: bool = True, **context):
    """The confirmation step of a destructive action: the same form again, with confirmed=1."""
    fields = {k: v for k, v in request.form.items() if k not in ("_csrf", "confirmed")}
    return render_template("console/confirm.html", title=title, message=message, details=list(details),
                           fields=fields, action=request.path, danger=danger, **context)
