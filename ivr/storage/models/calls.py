"""Calls, what was said and decided in them, and the flow versions they ran on.

A call's CallEvent rows (events in, actions out, in `seq` order) are enough to rebuild its
session by replaying them against the FlowVersion it started on (DESIGN §3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class FlowVersion(Base):
    """A callflows.yaml as loaded, kept under its content hash."""

    __tablename__ = "flow_versions"

    hash: Mapped[str] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    path: Mapped[str]
    first_loaded_at: Mapped[datetime]


class Call(Base):
    """One phone call; `id` is the channel's own call id (CallSid, SIP Call-ID, ...)."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_started_at_id", "started_at", "id"),
        Index("ix_calls_caller", "caller"),
        Index("ix_calls_outcome", "outcome"),
        Index("ix_calls_department_started_at_id", "department", "started_at", "id"),
        Index("ix_calls_ticket_id", "ticket_id"),
        Index("ix_calls_ended_at", "ended_at"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    caller: Mapped[str | None]
    """E.164, or None when withheld."""
    channel: Mapped[str]
    flow_version: Mapped[str] = mapped_column(ForeignKey("flow_versions.hash"))
    language: Mapped[str | None]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None]
    current_node: Mapped[str | None]
    department: Mapped[str | None]
    ticket_id: Mapped[int | None]
    """The ticket filed in this call (tickets.call_id is the foreign key of the pair)."""
    transcript: Mapped[str | None] = mapped_column(Text)
    """What the caller said on the line, turn after turn (" / "), kept as the call ends
    for the call log's word search."""
    carried_by: Mapped[str | None]
    """The node whose process carries the call's audio (a LineNode's name): its SIP node, or
    the `ivr serve` worker holding its Media Stream while the stream is open; when that
    process dies the call is lost, unless Twilio resumes it elsewhere (`line_nodes`)."""


class LineNode(Base):
    """A process that carries calls' audio: an `ivr sip` node, by a name that outlives its
    restarts, or an `ivr serve` worker, named per process. It beats (`seen_at`) while it
    runs; a node not seen for a while, or a SIP node started again after a call it carried
    began, has lost that call (`ivr.calls.stale`)."""

    __tablename__ = "line_nodes"

    name: Mapped[str] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]


class CallWords(Base):
    """A call's words folded for the call log's word search (ivr/storage/search.py): what
    the caller said and the transcript of the description of the ticket filed in the call,
    lower case, Latin letters without their diacritics. Indexed by an FTS5 trigram table on
    SQLite (`call_words_fts`) and a pg_trgm GIN index on PostgreSQL, both made by the
    migration, so a substring search reads only the calls that hold it."""

    __tablename__ = "call_words"

    id: Mapped[int] = mapped_column(primary_key=True)
    """The FTS5 table's rowid (a TEXT key's implicit rowid could change on VACUUM)."""
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    words: Mapped[str] = mapped_column(Text)


class CallEvent(Base):
    """One event the engine was given, or one action it asked for, already redacted."""

    __tablename__ = "call_events"
    __table_args__ = (
        UniqueConstraint("call_id", "seq"),
        CheckConstraint("kind IN ('event', 'action')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"))
    seq: Mapped[int]
    kind: Mapped[str]
    type: Mapped[str]
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime]
    """The event's own time (the channel's clock); an action carries its event's."""
    stored_at: Mapped[datetime | None]
    """Wall-clock time the call's runner took the row (an event coming in, an action made):
    the reply latency of a turn is measured on it. None on rows stored before it existed."""


class CallChoice(Base):
    """A menu choice made in a finished call: the node left and the node it led to. The call
    log's intent filter reads it, newest first, through its index."""

    __tablename__ = "call_choices"
    __table_args__ = (
        Index("ix_call_choices_node_target_started_at", "node", "target", "started_at", "call_id"),
    )

    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    node: Mapped[str] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    """The call's, copied so the filter pages by the index alone."""
