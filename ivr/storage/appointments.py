"""Visits booked at a service's counter. Which slots are free is `routing.callbacks`' rule
(slots inside the department's hours, never on holidays or closures); this module counts the
bookings it decides from, and books, moves, confirms and cancels them.

A slot never holds more people than the counter's capacity for the service, even with
bookings racing: every booking of a service first takes the service's lock (a PostgreSQL
advisory lock; SQLite's writers queue already, as for callbacks), so counting and booking
happen one after another. A cancelled visit counts no more, so its place is free at once.
Booking queues "appointment.remind" the day before; it checks the slot it was queued for,
so a moved or cancelled visit's reminder does nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ivr.storage import notices
from ivr.storage.callbacks import advisory_lock
from ivr.storage.models import Appointment, ServiceCounter
from ivr.storage.queue import enqueue
from ivr.storage.upsert import insert_once
from menus.schema import Flow
from routing.callbacks import SEARCH_DAYS, callback_slots

BOOKED = "booked"
REMIND = "appointment.remind"
REMIND_BEFORE = timedelta(days=1)
CODE_DIGITS = 6


@dataclass(frozen=True)
class Booking:
    appointment: Appointment
    held: bool
    """The number held as many upcoming visits to the service as allowed already: this is
    the newest of them, not a new booking."""


def counter_of(session: Session, flow: Flow, service: str, at: datetime) -> ServiceCounter:
    """The service's counter and capacity; seeded from the flow the first time it is asked
    (that once, a write)."""
    found = session.get(ServiceCounter, service)
    if found is not None:
        return found
    seed = flow.services[service]
    values = dict(
        service=service,
        counter=seed.counter,
        slot_minutes=seed.slot_minutes,
        capacity=seed.capacity,
        updated_at=at,
    )
    insert_once(session, ServiceCounter, values, [ServiceCounter.service])
    return session.get_one(ServiceCounter, service)


def booked_slots(
    session: Session,
    service: str,
    start: datetime,
    end: datetime,
    *,
    slot_minutes: int,
    zone: ZoneInfo,
    exclude: int | None = None,
) -> dict[datetime, int]:
    """Slot start (UTC) → visits booked in it, for bookings in [start - a slot, end). A visit
    booked before the counter's slot length changed counts in the slot it now falls in."""
    where = [
        Appointment.service == service,
        Appointment.status == BOOKED,
        Appointment.slot_start >= start - timedelta(minutes=slot_minutes),
        Appointment.slot_start < end,
    ]
    if exclude is not None:
        where.append(Appointment.id != exclude)
    counts: dict[datetime, int] = {}
    for starts, count in session.execute(
        select(Appointment.slot_start, func.count()).where(*where).group_by(Appointment.slot_start)
    ):
        slot = _slot_of(starts, slot_minutes, zone)
        counts[slot] = counts.get(slot, 0) + count
    return counts


def _slot_of(instant: datetime, minutes: int, zone: ZoneInfo) -> datetime:
    wall = instant.astimezone(zone)
    floored = wall.replace(minute=wall.minute - wall.minute % minutes, second=0, microsecond=0)
    return floored.astimezone(UTC)


def free_slots(
    session: Session,
    flow: Flow,
    service: str,
    at: datetime,
    *,
    after: datetime | None = None,
    exclude: int | None = None,
    count: int = 1,
) -> list[datetime]:
    """The first free slots of the service's counter from `at` (after `after` when given)."""
    counter = counter_of(session, flow, service, at)
    zone = ZoneInfo(flow.city.timezone)
    end = at + timedelta(days=SEARCH_DAYS)
    minutes = counter.slot_minutes
    booked = booked_slots(
        session, service, at, end, slot_minutes=minutes, zone=zone, exclude=exclude
    )
    return callback_slots(
        flow,
        flow.services[service].department,
        at,
        booked,
        counter.capacity,
        window_hours=SEARCH_DAYS * 24,
        slot_minutes=minutes,
        count=count,
        after=after,
        closures=notices.closures_at(session, zone, at),
    )


def lock_service(session: Session, service: str) -> None:
    """Serialise bookings of one service's slots until the transaction ends."""
    advisory_lock(session, f"appointments:{service}")


def book_first_free(
    session: Session,
    flow: Flow,
    *,
    caller: str | None,
    service: str,
    language: str,
    call_id: str | None,
    at: datetime,
) -> Booking | None:
    """Book the first free slot under the service's lock; None when none is free. A number
    that holds as many upcoming visits to the service as the flow allows
    (`appointments_per_service`) gets its newest one back instead of another."""
    lock_service(session, service)
    if caller is not None:
        held = upcoming(session, caller, at, service=service)
        if len(held) >= flow.settings.appointments_per_service:
            return Booking(held[0], held=True)
    free = free_slots(session, flow, service, at)
    if not free:
        return None
    appointment = Appointment(
        code=_new_code(session),
        caller=caller,
        service=service,
        counter=counter_of(session, flow, service, at).counter,
        slot_start=free[0],
        status=BOOKED,
        language=language,
        call_id=call_id,
        created_at=at,
    )
    session.add(appointment)
    session.flush()
    _schedule_reminder(session, appointment, at)
    return Booking(appointment, held=False)


def _new_code(session: Session) -> str:
    """A random code no visit on record has (codes go with their visits at the purge)."""
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if session.scalar(select(Appointment.id).where(Appointment.code == code)) is None:
            return code


def move_to_next(
    session: Session, flow: Flow, appointment: Appointment, at: datetime
) -> datetime | None:
    """Move a booked visit to the first free slot after its own (under the lock); the new
    slot, or None when there is none (the visit keeps its slot)."""
    lock_service(session, appointment.service)
    free = free_slots(
        session, flow, appointment.service, at, after=appointment.slot_start, exclude=appointment.id
    )
    if not free:
        return None
    appointment.slot_start, appointment.confirmed_at, appointment.reminded_at = free[0], None, None
    _schedule_reminder(session, appointment, at)
    return free[0]


def _schedule_reminder(session: Session, appointment: Appointment, at: datetime) -> None:
    remind_at = appointment.slot_start - REMIND_BEFORE
    if remind_at > at:
        payload = {"appointment_id": appointment.id, "slot": appointment.slot_start.isoformat()}
        enqueue(session, REMIND, payload, at=at, run_after=remind_at)


def cancel(appointment: Appointment, at: datetime, why: str) -> None:
    """Cancel a visit: its place counts no more at once; its reminder finds it cancelled."""
    appointment.status, appointment.done_at, appointment.outcome = "cancelled", at, why


def upcoming(
    session: Session, caller: str, at: datetime, *, service: str | None = None
) -> list[Appointment]:
    """The number's booked visits still to come (of one service, when given), newest first."""
    statement = _upcoming(caller, at)
    if service is not None:
        statement = statement.where(Appointment.service == service)
    return list(session.scalars(statement))


def pending_offer(session: Session, caller: str, now: datetime) -> Appointment | None:
    """The number's newest visit still to come, locked for this transaction."""
    return session.scalars(_upcoming(caller, now).limit(1).with_for_update()).first()


def _upcoming(caller: str, at: datetime) -> Select[Appointment]:
    return (
        select(Appointment)
        .where(
            Appointment.caller == caller,
            Appointment.status == BOOKED,
            Appointment.slot_start > at,
        )
        .order_by(Appointment.created_at.desc(), Appointment.id.desc())
    )


def find_upcoming(session: Session, code: str, now: datetime) -> Appointment | None:
    """The booked visit with this code, if it is still to come."""
    return session.scalars(
        select(Appointment).where(
            Appointment.code == code, Appointment.status == BOOKED, Appointment.slot_start > now
        )
    ).first()
