"""Tickets (reports and messages), their status history, numbering and status look-ups.

A ticket's registration number is sequential per local year (TicketCounter); its PIN is
stored only as a hash; every look-up of a ticket by phone leaves a PinAttempt behind, which
is what the lockout counts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.storage.models.base import Base


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("year", "number"),
        CheckConstraint("kind IN ('report', 'message')", name="kind"),
        Index("ix_tickets_status_created_at", "status", "created_at"),
        Index("ix_tickets_caller", "caller"),
        Index("ix_tickets_department_created_at", "department", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(unique=True)
    """`YY-NNNNNN`, e.g. 26-000123."""
    year: Mapped[int]
    """The local year of `created_at` (in the flow's zone)."""
    number: Mapped[int]
    kind: Mapped[str]
    status: Mapped[str]
    draft: Mapped[bool]
    category: Mapped[str | None]
    department: Mapped[str | None]
    district: Mapped[int | None]
    caller: Mapped[str | None]
    language: Mapped[str]
    recording_id: Mapped[str | None]
    """The description's recording (recordings.ticket_id is the foreign key of the pair)."""
    description: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[dict[str, Any] | None]
    pin_hash: Mapped[str]
    deadline: Mapped[date | None]
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    escalation_level: Mapped[int] = mapped_column(default=0, server_default="0")
    """Index into the flow's `escalation` ladder: 0 is its first rung."""

    history: Mapped[list[TicketStatusChange]] = relationship(
        back_populates="ticket", order_by="TicketStatusChange.id"
    )


class TicketStatusChange(Base):
    __tablename__ = "ticket_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    status: Mapped[str]
    at: Mapped[datetime]
    actor: Mapped[str]
    note: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="history")


NOTE_KINDS = ("note", "reply", "closed", "reopened")
NOTE_SOURCES = ("officer", "phone", "sms", "civicline")


class TicketNote(Base):
    """A note on a ticket, a reply sent to its caller by SMS (`sms_id`), or the citizen
    closing (solved) or reopening (not solved) a resolved report; `source` says where it
    came from: an officer on the site, the citizen by phone or SMS, civicline itself."""

    __tablename__ = "ticket_notes"
    __table_args__ = (CheckConstraint(f"kind IN {NOTE_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str]
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str]
    sms_id: Mapped[int | None] = mapped_column(ForeignKey("sms_outbox.id"))
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(default="officer", server_default="officer")
    recording_id: Mapped[str | None]
    """A note said on the phone: its `body` is the transcript, empty until transcribed
    (no foreign key, as `Ticket.recording_id`: the retention purge deletes recordings)."""


class TicketCounter(Base):
    """The last registration number given in a local year."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int]


class PinAttempt(Base):
    """One look-up of a ticket by phone: by caller ID, by PIN, or of a number that is unknown."""

    __tablename__ = "pin_attempts"
    __table_args__ = (
        Index("ix_pin_attempts_caller_at", "caller", "at"),
        Index("ix_pin_attempts_ticket_id_at", "ticket_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str | None]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime]
    ok: Mapped[bool]


class Recording(Base):
    """An audio file in the recording store (DESIGN §4); `path` is its key there, the same in
    a local directory and in an object store (`ivr.recordings`)."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(primary_key=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str]
    path: Mapped[str]
    codec: Mapped[str]
    sample_rate: Mapped[int]
    seconds: Mapped[float]
    sha256: Mapped[str]
    created_at: Mapped[datetime]
