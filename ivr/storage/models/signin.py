"""Signing in to the supervisor site: the server-side sessions a cookie points at, and the
failed sign-ins counted per account and per client address (shared by every process)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class SiteSession(Base):
    """One signed-in browser; the cookie carries a random token whose SHA-256 is `id`, so a
    copy of this table opens no session. Deleting the row ends the session."""

    __tablename__ = "site_sessions"

    id: Mapped[str] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    address: Mapped[str | None]


class LoginThrottle(Base):
    """Failed sign-ins of one key (`account:NAME` or `address:IP`) since `window_start`; at
    the limit the key is locked until `locked_until`."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(primary_key=True)
    failures: Mapped[int]
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]
