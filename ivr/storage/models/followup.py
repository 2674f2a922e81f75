"""What follows a call: the attempts to place a callback, the ticket's way up the
escalation ladder, and the post-call survey."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class CallbackAttempt(Base):
    """One outbound call of a callback: the officer's leg or the citizen's, attempt 1 or 2.

    Stored `dialing` and committed before the provider is asked (like an SMS `sending`), so a
    worker that dies mid-request leaves a row that says "look it up before calling again"."""

    __tablename__ = "callback_attempts"
    __table_args__ = (
        UniqueConstraint("callback_id", "leg", "number"),
        CheckConstraint("leg IN ('officer', 'citizen')", name="leg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id"), index=True)
    leg: Mapped[str]
    number: Mapped[int]
    to: Mapped[str]
    status: Mapped[str]
    """dialing, initiated, ringing, in-progress, completed, busy, no-answer, failed, canceled."""
    provider_sid: Mapped[str | None] = mapped_column(unique=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class TicketEscalation(Base):
    """One step of a ticket up the ladder; unique per level reached, so two replies at once
    (or a reply and the deadline job) never climb twice."""

    __tablename__ = "ticket_escalations"
    __table_args__ = (UniqueConstraint("ticket_id", "to_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    from_level: Mapped[int]
    to_level: Mapped[int]
    role: Mapped[str]
    reason: Mapped[str]
    """`citizen` (SMS ESCALATE), `not_satisfied` (a key after the callback), `deadline`."""
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id"))
    at: Mapped[datetime]


class SurveyResponse(Base):
    """A 1–5 score keyed after an IVR call (`call_id`) or a callback (`callback_id`)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        CheckConstraint("kind IN ('ivr', 'callback')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str]
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id"), unique=True)
    score: Mapped[int]
    language: Mapped[str]
    at: Mapped[datetime] = mapped_column(index=True)
