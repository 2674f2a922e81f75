"""Callbacks booked in a department's slots (DESIGN §9). Which slots to offer is
`routing.callbacks`' decision; this module counts the bookings it decides from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.storage.models import Callback, Officer

UNSTAFFED_CAPACITY = 1
"""Callbacks per slot of a department with no officers on record yet (the demo city): the
line still offers callbacks, which a supervisor assigns."""


def booked_slots(
    session: Session, department: str, start: datetime, end: datetime
) -> dict[datetime, int]:
    """Slot start (UTC) → callbacks booked in it, for slots starting in [start, end)."""
    statement = (
        select(Callback.slot_start, func.count())
        .where(
            Callback.department == department,
            Callback.status == "booked",
            Callback.slot_start >= start,
            Callback.slot_start < end,
        )
        .group_by(Callback.slot_start)
    )
    return {slot: count for slot, count in session.execute(statement)}


def capacity(session: Session, department: str) -> int:
    """Callbacks one slot of `department` can hold: its active officers' capacities added up
    (UNSTAFFED_CAPACITY when it has no officers on record)."""
    statement = select(func.count(Officer.id), func.sum(Officer.callback_capacity)).where(
        Officer.department == department, Officer.active.is_(True)
    )
    officers, total = session.execute(statement).one()
    return UNSTAFFED_CAPACITY if officers == 0 else int(total or 0)


def book_callback(
    session: Session,
    *,
    caller: str,
    department: str,
    slot_start: datetime,
    language: str,
    call_id: str | None,
    ticket_id: int | None,
    at: datetime,
) -> Callback:
    """Book a callback in `slot_start`; an officer is assigned when it is placed."""
    callback = Callback(
        caller=caller,
        department=department,
        slot_start=slot_start,
        language=language,
        call_id=call_id,
        ticket_id=ticket_id,
        status="booked",
        created_at=at,
    )
    session.add(callback)
    session.flush()
    return callback
