"""The jobs table (DESIGN §6): work for `ivr worker`, claimed one row at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """`queued` → `running` (leased to one worker until `locked_until`) → `done` or `failed`;
    a failure with attempts left goes back to `queued` with a later `run_after`."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_run_after", "status", "run_after"),
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str]
    attempts: Mapped[int]
    max_attempts: Mapped[int]
    run_after: Mapped[datetime]
    locked_by: Mapped[str | None]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    unique_key: Mapped[str | None] = mapped_column(unique=True)
    """Set for work that must be queued once however often it is asked for: a periodic
    job's run (`kind@period`, `ivr.storage.queue.enqueue_periodic`), an e-mail per ticket
    and event (`enqueue_once`); None for the rest."""
