"""What the supervisors tell callers and routing without editing the flow: announcements
spoken before a menu during their dates, and closures (days a department is closed)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class Announcement(Base):
    """Said from `starts` to `ends` (local dates in the flow's zone, both included) before the
    main menu, or before the after-hours menu only, unless withdrawn; `heard` and `skipped`
    count the calls."""

    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint("placement IN ('main', 'after_hours')", name="placement"),
        CheckConstraint("starts <= ends", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    texts: Mapped[dict[str, Any]]
    """Language → text, one for every language of the flow."""
    starts: Mapped[date] = mapped_column(index=True)
    ends: Mapped[date] = mapped_column(index=True)
    placement: Mapped[str]
    heard: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    """Set when a supervisor stopped it early: no call hears it from then on."""
    withdrawn_by: Mapped[str | None]


class OfficeClosure(Base):
    """A local day closed for `department`, or for every department when it is None."""

    __tablename__ = "office_closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    department: Mapped[str | None]
    reason: Mapped[str]
    created_by: Mapped[str]
    created_at: Mapped[datetime]
