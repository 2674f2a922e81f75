"""Visits booked at a counter: each service's counter and capacity, and the bookings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base

APPOINTMENT_STATUSES = ("booked", "cancelled", "arrived", "no_show")


class ServiceCounter(Base):
    """Where and how fast a service sees citizens: seeded from the flow's `services`, then
    changed by an admin on the site (the flow is not read for them again)."""

    __tablename__ = "service_counters"
    __table_args__ = (
        CheckConstraint("slot_minutes IN (15, 30)", name="slot_minutes"),
        CheckConstraint("capacity > 0", name="capacity"),
    )

    service: Mapped[str] = mapped_column(primary_key=True)
    counter: Mapped[str]
    slot_minutes: Mapped[int]
    capacity: Mapped[int]
    """People the counter sees in one slot for this service."""
    updated_at: Mapped[datetime]


class Appointment(Base):
    """A citizen's visit to a service's counter, in one slot; `code` identifies it by phone,
    SMS and at the counter."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_service_slot_start", "service", "slot_start"),
        Index("ix_appointments_caller_created_at", "caller", "created_at"),
        CheckConstraint("status IN ('booked', 'cancelled', 'arrived', 'no_show')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    caller: Mapped[str | None]
    """E.164; None for a withheld number (then no SMS, and no limit per number)."""
    service: Mapped[str]
    counter: Mapped[str]
    slot_start: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str]
    language: Mapped[str]
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    """When it was cancelled, or marked arrived or no-show."""
    outcome: Mapped[str | None]
    """Why it was cancelled, or who marked it."""
