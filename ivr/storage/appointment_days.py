"""Appointments as the counter's clerk and the dashboard see them: one local day's visits,
arrivals and no-shows marked once, and the figures of a span of days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.storage.appointments import BOOKED
from ivr.storage.models import Appointment

MARKS = ("arrived", "no_show")


def visits_between(session: Session, start: datetime, end: datetime) -> list[Appointment]:
    """The visits (not cancelled) whose slot starts in [start, end), by counter and time."""
    return list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.slot_start >= start,
                Appointment.slot_start < end,
                Appointment.status != "cancelled",
            )
            .order_by(Appointment.counter, Appointment.slot_start, Appointment.id)
        )
    )


def mark(appointment: Appointment, status: str, at: datetime, who: str) -> bool:
    """Mark a booked visit arrived or no-show; False when it was marked (or cancelled) before."""
    if status not in MARKS:
        raise ValueError(f"a visit is marked {' or '.join(MARKS)}, not {status!r}")
    if appointment.status != BOOKED:
        return False
    appointment.status, appointment.done_at, appointment.outcome = status, at, f"marked by {who}"
    return True


def statuses_between(
    session: Session, start: datetime, end: datetime, services: Collection[str]
) -> Counter[str]:
    """How many visits to `services` with a slot in [start, end) are in each status."""
    rows = session.execute(
        select(Appointment.status, func.count())
        .where(
            Appointment.slot_start >= start,
            Appointment.slot_start < end,
            Appointment.service.in_(services),
        )
        .group_by(Appointment.status)
    )
    return Counter({status: count for status, count in rows})
