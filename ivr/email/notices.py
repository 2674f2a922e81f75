"""Which events e-mail a department, queued as "email.send" jobs in the event's transaction.

A department opts in with `departments.<code>.email` in the flow; without it nothing is
queued. A new ticket filed by phone, each level an escalation reaches, a callback assigned
to an officer (the officer's address too, when the officer has one), a citizen's note and
a citizen reopening a report each queue one job, keyed by the ticket (or callback) and the
event: asked twice (a retried request, two workers), the unique key queues it once.
Recipients are fixed at queueing; what the message says is read when it is sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ivr.storage.models import Callback, Officer, Ticket, TicketNote
from ivr.storage.queue import enqueue_once
from menus.schema import Flow

EMAIL = "email.send"
EMAIL_ATTEMPTS = 8
"""With the worker's backoff (30 s doubling, capped at an hour) about two hours of tries."""
EVENTS = ("new", "escalated", "callback", "note", "reopened")


def department_address(flow: Flow, department: str | None) -> str | None:
    """The department's address when it opted in to e-mail, else None."""
    found = flow.departments.get(department) if department else None
    return found.email if found is not None else None


def tell_department(
    session: Session,
    flow: Flow,
    ticket: Ticket,
    event: str,
    at: datetime,
    *,
    level: int | None = None,
    note: TicketNote | None = None,
) -> bool:
    """Queue the e-mail of `event` about `ticket` to its department (opted in); whether one
    was queued now (False: not opted in, or queued before)."""
    address = department_address(flow, ticket.department)
    if address is None:
        return False
    key = f"ticket:{ticket.id}:{event}"
    if level is not None:
        key += f":{level}"
    if note is not None:
        key += f":{note.id}"
    payload = {
        "event": event,
        "ticket_id": ticket.id,
        "note_id": note.id if note is not None else None,
        "level": level,
        "to": [address],
        "key": key,
    }
    return enqueue_once(session, EMAIL, payload, key=key, at=at, max_attempts=EMAIL_ATTEMPTS)


def tell_officer(session: Session, flow: Flow, callback: Callback, at: datetime) -> bool:
    """Queue the e-mail of `callback`'s assignment to its officer and its department (opted
    in), once per officer assigned; whether one was queued now."""
    address = department_address(flow, callback.department)
    if address is None or callback.officer_id is None:
        return False
    officer = session.get(Officer, callback.officer_id)
    to = [address] + ([officer.email] if officer is not None and officer.email else [])
    key = f"callback:{callback.id}:officer:{callback.officer_id}"
    payload = {
        "event": "callback",
        "ticket_id": callback.ticket_id,
        "callback_id": callback.id,
        "to": to,
        "key": key,
    }
    return enqueue_once(session, EMAIL, payload, key=key, at=at, max_attempts=EMAIL_ATTEMPTS)
