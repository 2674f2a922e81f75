"""Who works at the city hall: departments and categories (copied from the flow), officers
and their leave, users of the supervisor site, and the audit log of what they did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class Department(Base):
    """A department of the flow; `active` is false once the flow no longer names it."""

    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[dict[str, Any]]
    """Language → name."""
    schedule: Mapped[str | None]
    transfer: Mapped[str | None]
    active: Mapped[bool]
    synced_at: Mapped[datetime]


class Category(Base):
    """A category of report of the flow; `active` is false once the flow no longer names it."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(primary_key=True)
    department: Mapped[str]
    deadline_days: Mapped[int]
    name: Mapped[dict[str, Any]]
    active: Mapped[bool]
    synced_at: Mapped[datetime]


class Officer(Base):
    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    phone: Mapped[str | None]
    email: Mapped[str | None]
    """Told by e-mail of the callbacks assigned to them (with their department's address)."""
    department: Mapped[str] = mapped_column(index=True)
    callback_capacity: Mapped[int]
    """Callbacks this officer can take in one slot."""
    active: Mapped[bool]


class OfficerLeave(Base):
    """An officer away from `starts` (inclusive) to `ends` (exclusive)."""

    __tablename__ = "officer_leaves"

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    starts: Mapped[datetime]
    ends: Mapped[datetime]


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'supervisor', 'officer')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(unique=True)
    password_hash: Mapped[str]
    role: Mapped[str]
    active: Mapped[bool]
    created_at: Mapped[datetime]
    totp_secret: Mapped[str | None]
    """Base32 key of the user's authenticator app; None when two-factor sign-in is off."""
    totp_step: Mapped[int | None]
    """The 30-second step of the last code accepted, so a code works only once."""
    language: Mapped[str | None]
    """The site's language this user chose (ro, bg, en); None until they choose."""


class UserDepartment(Base):
    """A department whose calls, tickets and callbacks an officer's account may see."""

    __tablename__ = "user_departments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str]
    action: Mapped[str]
    target: Mapped[str]
    details: Mapped[dict[str, Any]]
