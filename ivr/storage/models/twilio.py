"""What Twilio tells us about its calls: the one-time tokens our TwiML gives each Media
Stream, and call status callbacks (repeated and out of order: unique on CallSid and
SequenceNumber, DESIGN §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class TwilioStreamToken(Base):
    """A stream our TwiML started: its token (only the SHA-256 is kept), the call, and the
    line actions the stream must carry out first (stored redacted); used once."""

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
