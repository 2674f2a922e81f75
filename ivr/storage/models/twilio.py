"""What Twilio tells us about its calls: the one-time tokens our TwiML gives each Media
Stream, and call status callbacks (repeated and out of order: unique on CallSid and
SequenceNumber, DESIGN §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class TwilioStreamToken(Base):
    """A stream our TwiML started: its token (only the SHA-256 is kept), the call, and the
    line actions the stream must carry out first (stored redacted); used once. Once used,
    `actions` keeps only whether that stream has ended (`{"actions": [], "ended": true}`)."""

    __tablename__ = "twilio_stream_tokens"

    token_hash: Mapped[str] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(index=True)
    actions: Mapped[dict[str, Any]]
    issued_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TwilioCallStatus(Base):
    """One call status callback, kept once however often Twilio repeats it."""

    __tablename__ = "twilio_call_statuses"

    call_sid: Mapped[str] = mapped_column(primary_key=True)
    sequence_number: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str]
    received_at: Mapped[datetime]


class TwilioCallEnd(Base):
    """Who told the call it ended first: the stream's `stop` (or its socket closing) or a
    final status callback. Only the one that inserts this row feeds CallerHungUp."""

    __tablename__ = "twilio_call_ends"

    call_sid: Mapped[str] = mapped_column(primary_key=True)
    source: Mapped[str]
    at: Mapped[datetime]


class TwilioRecording(Base):
    """A recording Twilio made for us (a `<Dial record>` transfer, a Gather-mode call or
    description), kept once per RecordingSid; a job downloads it into the recording store
    (`recording_id`) and then deletes it at Twilio."""

    __tablename__ = "twilio_recordings"

    recording_sid: Mapped[str] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(index=True)
    kind: Mapped[str]
    """The Recording row's kind: "call" (the whole call, or its transfer) or "description"."""
    status: Mapped[str]
    """Twilio's RecordingStatus: completed, failed or absent."""
    received_at: Mapped[datetime]
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"))
    downloaded_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    problem: Mapped[str | None]
    """Why the file could not be kept (Twilio has no such recording any more)."""
