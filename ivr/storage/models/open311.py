"""Open311 GeoReport v2: the API keys of clients that file reports, the reports they filed,
the request counts that rate-limit them, and the state of each ticket pushed to a city's
own GeoReport endpoint."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base


class Open311Key(Base):
    """A client allowed to POST reports; only the SHA-256 of its random key is kept (a key
    has 256 bits of entropy, so a fast hash that can be looked up is enough)."""

    __tablename__ = "open311_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    key_hash: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Open311Report(Base):
    """What a report filed by POST carries beside its ticket: who filed it, where, whether
    its description may be published, and the token that finds it again."""

    __tablename__ = "open311_reports"
    __table_args__ = (UniqueConstraint("key_id", "external_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("open311_keys.id"), index=True)
    token: Mapped[str] = mapped_column(unique=True)
    external_id: Mapped[str | None]
    """The client's own id of the report (`attribute[external_id]`): a POST repeated with
    it answers the first report instead of filing another."""
    address: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None]
    long: Mapped[float | None]
    publish_description: Mapped[bool]


class Open311Hit(Base):
    """Requests of one client (`key:ID` or `address:IP`) in the minute `window_start`."""

    __tablename__ = "open311_hits"

    key: Mapped[str] = mapped_column(primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int]


class Open311Push(Base):
    """A ticket filed by phone on its way to the city's GeoReport endpoint: `sending` while
    a POST is out, `sent` once the endpoint named it (its id, or a token to ask for the id),
    `failed` when the endpoint refused it; the remote status is polled back."""

    __tablename__ = "open311_pushes"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed')", name="state"),
        Index("ix_open311_pushes_state_remote_status", "state", "remote_status"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    state: Mapped[str]
    remote_id: Mapped[str | None]
    token: Mapped[str | None]
    remote_status: Mapped[str | None]
    remote_notes: Mapped[str | None] = mapped_column(Text)
    remote_agency: Mapped[str | None]
    remote_updated_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    polled_at: Mapped[datetime | None]
