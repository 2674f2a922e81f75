"""Callbacks booked in a department's slots (DESIGN §9). Which slots to offer is
`routing.callbacks`' decision; this module counts the bookings it decides from, and books,
moves and cancels them with their jobs.

A slot never holds more callbacks than it has room for, even with bookings racing on
PostgreSQL: every booking of a department (or of a rung above the officers) first takes a
transaction-level advisory lock for it, so counting and booking happen one after another.
On SQLite the write transaction (BEGIN IMMEDIATE) already lets one writer in at a time.

Officers' capacities add up per slot, leaving out officers on leave during it; a callback
for a rung above the officers (head of service, mayor...) has one place per slot per rung.
Booking queues the "callback.place" job at the slot and "callback.remind" an hour before;
both check the slot they were queued for, so a moved or cancelled callback's jobs do nothing.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.storage import notices
from ivr.storage.models import Callback, CallEvent, Job, Officer, OfficerLeave
from ivr.storage.queue import enqueue
from menus.schema import Flow
from routing.callbacks import Staff, callback_slots, staffed_capacity

UNSTAFFED_CAPACITY = 1
"""Callbacks per slot of a department with no officers on record yet (the demo city): the
line still offers callbacks, which a supervisor assigns."""
OFFICER = "officer"
SLOT_SEARCH = timedelta(days=31)
REMIND_BEFORE = timedelta(hours=1)
PENDING = "booked"
PLACE, REMIND = "callback.place", "callback.remind"


def lock_slots(session: Session, department: str, role: str = OFFICER) -> None:
    """Serialise bookings of one department's slots (or one rung's) until the transaction
    ends: a PostgreSQL advisory lock; nothing on SQLite, whose writers queue already."""
    advisory_lock(session, f"callbacks:{role if role != OFFICER else department}")


def booked_slots(
    session: Session,
    department: str,
    start: datetime,
    end: datetime,
    *,
    role: str = OFFICER,
    exclude: int | None = None,
) -> dict[datetime, int]:
    """Slot start (UTC) → callbacks booked in it, for slots starting in [start, end): the
    department's officers' callbacks, or every callback of a higher `role`."""
    where = [
        Callback.status == PENDING,
        Callback.slot_start >= start,
        Callback.slot_start < end,
        Callback.role == role,
    ]
    if role == OFFICER:
        where.append(Callback.department == department)
    if exclude is not None:
        where.append(Callback.id != exclude)
    statement = (
        select(Callback.slot_start, func.count()).where(*where).group_by(Callback.slot_start)
    )
    return {slot: count for slot, count in session.execute(statement)}


def staff(
    session: Session, department: str, start: datetime | None = None, end: datetime | None = None
) -> list[Staff]:
    """The department's active officers, with their leave between `start` and `end`."""
    officers = session.scalars(
        select(Officer).where(Officer.department == department, Officer.active.is_(True))
    ).all()
    leave: dict[int, list[tuple[datetime, datetime]]] = {}
    if start is not None and end is not None:
        for row in session.scalars(
            select(OfficerLeave).where(
                OfficerLeave.officer_id.in_([o.id for o in officers]),
                OfficerLeave.starts < end,
                OfficerLeave.ends > start,
            )
        ):
            leave.setdefault(row.officer_id, []).append((row.starts, row.ends))
    return [Staff(o.callback_capacity, tuple(leave.get(o.id, ()))) for o in officers]


def staff_on_duty(
    session: Session, department: str, start: datetime, end: datetime
) -> list[Officer]:
    """The department's active officers not on leave at any time in [start, end)."""
    away = select(OfficerLeave.officer_id).where(
        OfficerLeave.starts < end, OfficerLeave.ends > start
    )
    return list(
        session.scalars(
            select(Officer)
            .where(
                Officer.department == department,
                Officer.active.is_(True),
                Officer.id.not_in(away),
            )
            .order_by(Officer.id)
        )
    )


def capacity(
    session: Session, department: str, start: datetime | None = None, end: datetime | None = None
) -> int:
    """Callbacks one slot [start, end) of `department` can hold: its active officers'
    capacities added up, leaving out those on leave then (UNSTAFFED_CAPACITY when it has no
    officers on record)."""
    people = staff(session, department, start, end)
    if start is None or end is None:
        return sum(p.capacity for p in people) if people else UNSTAFFED_CAPACITY
    return staffed_capacity(people, UNSTAFFED_CAPACITY)(start, end)


def free_slots(
    session: Session,
    flow: Flow,
    department: str,
    requested_at: datetime,
    *,
    role: str = OFFICER,
    after: datetime | None = None,
    exclude: int | None = None,
    count: int = 1,
) -> list[datetime]:
    """The first free slots for a request at `requested_at` (see `routing.callbacks`)."""
    end = requested_at + SLOT_SEARCH
    booked = booked_slots(session, department, requested_at, end, role=role, exclude=exclude)
    holds = (
        staffed_capacity(staff(session, department, requested_at, end), UNSTAFFED_CAPACITY)
        if role == OFFICER
        else 1
    )
    settings = flow.settings
    return callback_slots(
        flow,
        department,
        requested_at,
        booked,
        holds,
        settings.callback_window_hours,
        settings.callback_slot_minutes,
        count=count,
        after=after,
        closures=notices.closures_at(session, ZoneInfo(flow.city.timezone), requested_at),
    )


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
    role: str = OFFICER,
) -> Callback:
    """Book a callback in `slot_start` with its jobs; an officer is assigned when it is placed."""
    callback = Callback(
        caller=caller,
        department=department,
        slot_start=slot_start,
        language=language,
        call_id=call_id,
        ticket_id=ticket_id,
        status=PENDING,
        created_at=at,
        role=role,
        recording_consent=_consent_on(session, call_id),
    )
    session.add(callback)
    session.flush()
    schedule_jobs(session, callback, at)
    return callback


def _consent_on(session: Session, call_id: str | None) -> str | None:
    """The answer the booking call gave to the recording notice: accepted when the call
    started its recording (the caller heard the notice and did not decline), else declined;
    None without a call (asked at the start of the callback)."""
    if call_id is None:
        return None
    started = session.scalar(
        select(CallEvent.id)
        .where(
            CallEvent.call_id == call_id,
            CallEvent.kind == "action",
            CallEvent.type == "StartCallRecording",
        )
        .limit(1)
    )
    return "accepted" if started is not None else "declined"


def book_first_free(
    session: Session,
    flow: Flow,
    *,
    caller: str,
    department: str,
    language: str,
    call_id: str | None,
    ticket_id: int | None,
    at: datetime,
    role: str = OFFICER,
) -> Callback | None:
    """Book the first free slot under the slots' lock; None when no slot is free. A number
    that holds as many upcoming callbacks of the department as the flow allows
    (`callbacks_per_department`) gets its newest one back instead of another."""
    lock_slots(session, department, role)
    held = _upcoming(session, caller, department, at)
    if len(held) >= flow.settings.callbacks_per_department:
        return held[0]
    free = free_slots(session, flow, department, at, role=role)
    if not free:
        return None
    return book_callback(
        session,
        caller=caller,
        department=department,
        slot_start=free[0],
        language=language,
        call_id=call_id,
        ticket_id=ticket_id,
        at=at,
        role=role,
    )


def _upcoming(session: Session, caller: str, department: str, at: datetime) -> list[Callback]:
    """The number's callbacks of `department` still to come, newest first."""
    return list(
        session.scalars(
            select(Callback)
            .where(
                Callback.caller == caller,
                Callback.department == department,
                Callback.status == PENDING,
                Callback.slot_start > at,
            )
            .order_by(Callback.created_at.desc(), Callback.id.desc())
        )
    )


def move_callback(
    session: Session, flow: Flow, callback: Callback, slot: datetime, at: datetime
) -> bool:
    """Move a pending callback to `slot` if it is still free (checked under the lock)."""
    lock_slots(session, callback.department, callback.role)
    free = free_slots(
        session,
        flow,
        callback.department,
        at,
        role=callback.role,
        after=slot - timedelta(seconds=1),
        exclude=callback.id,
    )
    if not free or free[0] != slot:
        return False
    callback.slot_start, callback.confirmed_at, callback.reminded_at = slot, None, None
    schedule_jobs(session, callback, at)
    return True


def schedule_jobs(session: Session, callback: Callback, at: datetime) -> None:
    """The placement job at the slot, and the reminder an hour before when that is ahead."""
    payload = {"callback_id": callback.id, "slot": callback.slot_start.isoformat()}
    queued = [
        (job.kind, job.payload)
        for job in session.scalars(
            select(Job).where(Job.kind.in_((PLACE, REMIND)), Job.status == "queued")
        )
    ]
    if (PLACE, payload) not in queued:  # moved away and back: one job per slot
        enqueue(session, PLACE, payload, at=at, run_after=callback.slot_start, max_attempts=3)
    remind_at = callback.slot_start - REMIND_BEFORE
    if remind_at > at and (REMIND, payload) not in queued:
        enqueue(session, REMIND, payload, at=at, run_after=remind_at)


def rebook(
    session: Session, flow: Flow, callback: Callback, *, role: str, at: datetime, why: str
) -> bool:
    """Book `callback` again, for `role`, in its first free slot from `at` (under the slots'
    lock), noting `why` as its outcome so that the callbacks page shows it; False when no
    slot is free."""
    lock_slots(session, callback.department, role)
    free = free_slots(session, flow, callback.department, at, role=role, exclude=callback.id)
    if not free:
        return False
    if role != callback.role:
        callback.role, callback.officer_id = role, None
    local = callback.slot_start.astimezone(ZoneInfo(flow.city.timezone))
    callback.outcome = f"rescheduled from {local:%d.%m %H:%M}: {why}"
    callback.slot_start, callback.confirmed_at, callback.reminded_at = free[0], None, None
    schedule_jobs(session, callback, at)
    return True


def lock_line(session: Session, number: str) -> None:
    """Serialise the placing of calls to one officer's number until the transaction ends
    (PostgreSQL; SQLite's writers queue already), so two workers never ring it at once."""
    advisory_lock(session, f"line:{number}")


def advisory_lock(session: Session, name: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(name.encode()))))


def pending_offer(session: Session, caller: str, now: datetime) -> Callback | None:
    """The caller's newest callback still to come, locked for this transaction."""
    return session.scalars(
        select(Callback)
        .where(Callback.caller == caller, Callback.status == PENDING, Callback.slot_start > now)
        .order_by(Callback.created_at.desc(), Callback.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def cancel_callback(callback: Callback, at: datetime, why: str) -> None:
    """Cancel a callback; its jobs find it cancelled and do nothing."""
    callback.status, callback.outcome, callback.done_at = "cancelled", f"cancelled ({why})", at
