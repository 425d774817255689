"""Staff, their roles per org unit, and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.extensions import UTCDateTime, db
from app.models.base import TimestampMixin, utcnow
from app.models.org import OrgUnit
from app.services.crypto import EncryptedString, mask_mobile
from app.terms import KNOWN_ROLES, Role  # noqa: F401 - re-exported: the roles are the platform's shared terms

# 三员分立: graded protection forbids one person holding two of these.
SEPARATED_ADMIN_ROLES = frozenset({Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


class User(TimestampMixin, db.Model):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    wecom_userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(EncryptedString())
    position: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where the person was first added: wecom (directory sync), import (a spreadsheet), seed, cli.
    # Directory sync leaves people from an import alone unless told otherwise.
    origin: Mapped[str | None] = mapped_column(String(16))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> set[str]:
        return {m.role for m in self.memberships}

    def units_with_role(self, *roles: str) -> list[OrgUnit]:
        return [m.org_unit for m in self.memberships if not roles or m.role in roles]

    def has_role(self, *roles: str) -> bool:
        return any(m.role in roles for m in self.memberships)

    def to_public(self) -> dict:
        return {
            "id": self.id,
            "userid": self.wecom_userid,
            "name": self.name,
            "mobile": mask_mobile(self.mobile),
            "position": self.position,
            "active": self.active,
            "memberships": [m.to_dict() for m in self.memberships],
        }


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "org_unit_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="memberships")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    def to_dict(self) -> dict:
        return {"role": self.role, "org_unit": self.org_unit.to_summary()}


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    client: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class SeparationOfDutiesError(ValueError):
    """三员分立: one person may hold at most one of the system, security and audit admin roles."""


def separated_roles_conflict(roles) -> set[str]:
    held = set(roles) & SEPARATED_ADMIN_ROLES
    return held if len(held) > 1 else set()


@event.listens_for(Session, "before_flush")
def _enforce_separation_of_duties(session, flush_context, instances):
    """Checked on every flush, so no path (seed, import, API, shell) can grant two admin roles."""
    touched = {m.user for m in session.new | session.dirty if isinstance(m, Membership) and m.user is not None}
    touched |= {u for u in session.new | session.dirty if isinstance(u, User)}
    for user in touched:
        conflict = separated_roles_conflict(m.role for m in user.memberships)
        if conflict:
            raise SeparationOfDutiesError(
                f"user {user.wecom_userid!r} would hold {sorted(conflict)}; 三员分立 allows only one of them")
