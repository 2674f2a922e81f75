"""What the city says back to a caller: SMS (outbox, opt-outs), callbacks, and the language
a number was last served in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class SmsOutbox(Base):
    """One SMS to send: `queued` → `sending` (committed before the provider is asked) →
    `sent` or `failed`."""

    __tablename__ = "sms_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name="status"),
        Index("ix_sms_outbox_to_created_at", "to", "created_at"),  # a citizen's conversation
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str]
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str]
    language: Mapped[str]
    status: Mapped[str]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    provider_sid: Mapped[str | None] = mapped_column(unique=True)
    segments: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class SmsOptOut(Base):
    """A number that answered STOP: nothing is sent to it until it opts in again."""

    __tablename__ = "sms_opt_outs"

    number: Mapped[str] = mapped_column(primary_key=True)
    at: Mapped[datetime]


class SmsInbound(Base):
    """An SMS a citizen sent us, kept once per MessageSid however often Twilio repeats it."""

    __tablename__ = "sms_inbound"
    __table_args__ = (Index("ix_sms_inbound_sender_received_at", "sender", "received_at"),)

    message_sid: Mapped[str] = mapped_column(primary_key=True)
    sender: Mapped[str]
    body: Mapped[str] = mapped_column(Text)
    """At most the first 1,600 characters (Twilio's longest message)."""
    command: Mapped[str]
    received_at: Mapped[datetime]


class SmsDelivery(Base):
    """The furthest delivery status Twilio reported for a message we sent (by MessageSid,
    whatever order its status callbacks came in, even before the outbox row has the sid)."""

    __tablename__ = "sms_deliveries"

    message_sid: Mapped[str] = mapped_column(primary_key=True)
    status: Mapped[str]
    error_code: Mapped[str | None]
    updated_at: Mapped[datetime]


class CallerPreference(Base):
    __tablename__ = "caller_preferences"

    number: Mapped[str] = mapped_column(primary_key=True)
    language: Mapped[str]
    updated_at: Mapped[datetime]


class Callback(Base):
    """A call the city owes a caller, in a slot of a department's hours (DESIGN §9)."""

    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_department_slot_start", "department", "slot_start"),
        CheckConstraint(
            "status IN ('booked', 'placed', 'answered', 'missed', 'cancelled')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"))
    caller: Mapped[str]
    department: Mapped[str]
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    slot_start: Mapped[datetime]
    status: Mapped[str]
    language: Mapped[str]
    created_at: Mapped[datetime]
    outcome: Mapped[str | None]
    """What came of the call back, as a supervisor or officer recorded it."""
    resolution: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]
    role: Mapped[str] = mapped_column(default="officer", server_default="officer")
    """The rung of the escalation ladder who calls (`officer` unless the ticket escalated)."""
    confirmed_at: Mapped[datetime | None]
    """When the citizen confirmed the slot (key 1 on the phone, or an SMS `1`)."""
    reminded_at: Mapped[datetime | None]
    """When the reminder SMS was queued (once per callback)."""
    recording_consent: Mapped[str | None]
    """The citizen's answer to the recording notice: "accepted" or "declined" (on the call
    that booked it, or at the start of the callback), None when not asked yet."""
