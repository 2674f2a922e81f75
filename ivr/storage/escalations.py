"""A ticket's way up the escalation ladder (`routing.escalation`), in the database.

A ticket climbs one level at a time: the climb is an UPDATE that only succeeds from the
level the requester saw, and each level reached is stored once (unique per ticket and
level), so a double-clicked form, an SMS ESCALATE, a key after a callback and the deadline
job racing each other move the ticket up once; a citizen's ESCALATE counts once per
CITIZEN_COOLDOWN. Each climb cancels the callbacks booked at lower levels, books one from the
new level when the citizen has a number, and queues the next deadline check.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.email.notices import tell_department
from ivr.storage.callbacks import PENDING, book_callback, cancel_callback, free_slots, lock_slots
from ivr.storage.models import Callback, Ticket, TicketEscalation
from ivr.storage.queue import enqueue
from menus.schema import Flow

DEADLINE = "ticket.deadline"
CITIZEN_COOLDOWN = timedelta(hours=24)
"""A citizen's ESCALATE moves a ticket once in this time; a repeat is answered, not obeyed."""
OPEN_STATUSES = ("registered", "in_progress")


def department_of(flow: Flow, ticket: Ticket) -> str:
    """The department that handles the ticket (a message without one: the flow's first)."""
    if ticket.department in flow.departments:
        return ticket.department
    return next(iter(flow.departments))


def next_role(flow: Flow, ticket: Ticket) -> str | None:
    above = ticket.escalation_level + 1
    return flow.escalation[above].role if above < len(flow.escalation) else None


def escalation_slot(session: Session, flow: Flow, ticket: Ticket, at: datetime) -> datetime | None:
    """The first free slot of the next level, under that level's booking lock (held until
    the transaction ends, so `escalate` books this very slot)."""
    role = next_role(flow, ticket)
    if role is None or ticket.caller is None:
        return None
    department = department_of(flow, ticket)
    lock_slots(session, department, role)
    free = free_slots(session, flow, department, at, role=role)
    return free[0] if free else None


def escalate(
    session: Session,
    flow: Flow,
    ticket: Ticket,
    *,
    reason: str,
    at: datetime,
    slot: datetime | None = None,
    from_level: int | None = None,
) -> TicketEscalation | None:
    """Move `ticket` one level up with a callback from that level in `slot` (the first free
    one when not given); None when it is at the top already or another request moved it.
    `from_level` is the level the requester saw (a form, an SMS): a repeated request (a
    double click) finds the ticket above it and moves nothing. The callbacks still booked
    at the lower levels are cancelled: the new level calls instead."""
    level = ticket.escalation_level if from_level is None else from_level
    if level != ticket.escalation_level:
        return None
    role = next_role(flow, ticket)
    if role is None:
        return None
    if slot is None:
        slot = escalation_slot(session, flow, ticket, at)
    moved = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.escalation_level == level)
        .values(escalation_level=level + 1, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        session.refresh(ticket)  # where the other request took it
        return None
    session.refresh(ticket)
    for lower in session.scalars(
        select(Callback).where(Callback.ticket_id == ticket.id, Callback.status == PENDING)
    ):
        cancel_callback(lower, at, f"the ticket went up to {role}")
    callback = None
    if slot is not None and ticket.caller is not None:
        callback = book_callback(
            session,
            caller=ticket.caller,
            department=department_of(flow, ticket),
            slot_start=slot,
            language=ticket.language,
            call_id=None,
            ticket_id=ticket.id,
            at=at,
            role=role,
        )
    step = TicketEscalation(
        ticket_id=ticket.id,
        from_level=level,
        to_level=level + 1,
        role=role,
        reason=reason,
        callback_id=callback.id if callback else None,
        at=at,
    )
    session.add(step)
    session.flush()
    schedule_deadline(session, flow, ticket, at)
    tell_department(session, flow, ticket, "escalated", at, level=level + 1)
    return step


def schedule_deadline(session: Session, flow: Flow, ticket: Ticket, at: datetime) -> None:
    """Check the ticket again when its category's time has passed once more from `at`."""
    category = flow.categories.get(ticket.category or "")
    if category is None or ticket.escalation_level + 1 >= len(flow.escalation):
        return
    zone = ZoneInfo(flow.city.timezone)
    due_day = at.astimezone(zone).date() + timedelta(days=category.deadline_days + 1)
    due = datetime.combine(due_day, time(0), zone)
    payload = {"ticket_id": ticket.id, "level": ticket.escalation_level}
    enqueue(session, DEADLINE, payload, at=at, run_after=due)


def escalated_by_citizen_since(session: Session, ticket: Ticket, since: datetime) -> bool:
    """Whether the citizen (an SMS ESCALATE) moved the ticket up since `since`."""
    newest = session.scalar(
        select(TicketEscalation.id).where(
            TicketEscalation.ticket_id == ticket.id,
            TicketEscalation.reason == "citizen",
            TicketEscalation.at >= since,
        )
    )
    return newest is not None


def booked_callback(session: Session, ticket: Ticket) -> Callback | None:
    """The ticket's callback still to come from its current level, if any."""
    return session.scalars(
        select(Callback)
        .where(Callback.ticket_id == ticket.id, Callback.status == PENDING)
        .order_by(Callback.id.desc())
    ).first()


def chain(session: Session, ticket_id: int) -> list[tuple[TicketEscalation, Callback | None]]:
    """The ticket's steps up the ladder, oldest first, each with its callback."""
    rows = session.execute(
        select(TicketEscalation, Callback)
        .outerjoin(Callback, Callback.id == TicketEscalation.callback_id)
        .where(TicketEscalation.ticket_id == ticket_id)
        .order_by(TicketEscalation.to_level)
    )
    return [(step, callback) for step, callback in rows]
