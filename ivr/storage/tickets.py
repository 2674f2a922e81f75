"""Tickets: filing one with its registration number and PIN, its status, and who may hear it.

Registration numbers (`26-000123`) are sequential per local year, with no gaps and no
duplicates under concurrent calls: the year's counter is bumped by one upsert in the same
transaction as the ticket, so a rolled-back ticket gives its number back.

Status by phone (DESIGN §4): the ticket's own number (caller ID) hears it; anyone else needs
the PIN. Guessing is stopped by a lockout: LOCKOUT_FAILURES failed look-ups within
LOCKOUT_WINDOW, counted per calling number and per ticket, refuse every PIN until the window
has passed. A look-up of a registration number that does not exist is a failure for the
calling number, so numbers cannot be enumerated. The caller-ID path is not a guess, so a
lockout does not shut the owner out. The PIN is only ever stored as a salted hash.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.storage.models import PinAttempt, Ticket, TicketCounter, TicketStatusChange
from ivr.storage.upsert import insert_statement

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(hours=1)
PIN_HASH_METHOD = "pbkdf2:sha256:50000"
"""A 4-digit PIN has 10,000 values: no hash cost protects it offline, the lockout protects it
on the phone. The salted hash keeps it out of the database; a cheap one keeps filing fast."""


@dataclass(frozen=True)
class NewPin:
    """A new ticket's PIN: in clear, to be read to the caller once, and its salted hash."""

    clear: str
    hash: str


def new_pin() -> NewPin:
    """A random 4-digit PIN, hashed. Made before the ticket's transaction: the hash takes
    about 30 ms, which inside it would hold the database's write lock while other calls
    wait to store what their callers did. Calls take theirs made ahead of time
    (`ivr.storage.pin_pool`)."""
    pin = f"{secrets.randbelow(10_000):04d}"
    return NewPin(pin, generate_password_hash(pin, method=PIN_HASH_METHOD))


_REF = re.compile(r"\s*(\d{2})[\s-]?(\d{3})\s?(\d{3})\s*")


@dataclass(frozen=True)
class TicketAccess:
    """What a caller may learn about a ticket; `status` and `deadline` only when granted."""

    found: bool
    granted: bool
    locked: bool
    status: str | None = None
    deadline: date | None = None


def format_ref(year: int, number: int) -> str:
    """The registration number as said and printed: `26-000123`."""
    return f"{year % 100:02d}-{number:06d}"


def parse_ref(text: str) -> str | None:
    """A registration number typed or spoken ("26000123", "26-000123", "26 000 123") in its
    printed form, or None when `text` is not one."""
    match = _REF.fullmatch(text)
    if match is None:
        return None
    year, high, low = match.groups()
    return f"{year}-{high}{low}"


def create_ticket(
    session: Session,
    *,
    pin: NewPin,
    kind: str,
    draft: bool,
    caller: str | None,
    language: str,
    department: str | None,
    category: str | None,
    district: int | None,
    recording_id: str | None,
    description: str | None,
    deadline_days: int | None,
    call_id: str | None,
    at: datetime,
    zone: ZoneInfo,
) -> Ticket:
    """File a ticket at `at`, opened with `pin`."""
    local_day = at.astimezone(zone).date()
    number = _next_number(session, local_day.year)
    status = "draft" if draft else "registered"
    ticket = Ticket(
        ref=format_ref(local_day.year, number),
        year=local_day.year,
        number=number,
        kind=kind,
        status=status,
        draft=draft,
        category=category,
        department=department,
        district=district,
        caller=caller,
        language=language,
        recording_id=recording_id,
        description=description,
        pin_hash=pin.hash,
        deadline=None if deadline_days is None else local_day + timedelta(days=deadline_days),
        call_id=call_id,
        created_at=at,
        updated_at=at,
    )
    session.add(ticket)
    session.flush()
    session.add(TicketStatusChange(ticket_id=ticket.id, status=status, at=at, actor="ivr"))
    return ticket


def find_ticket(session: Session, ref: str) -> Ticket | None:
    """The ticket with registration number `ref` (in any form `parse_ref` accepts)."""
    printed = parse_ref(ref)
    if printed is None:
        return None
    return session.scalar(select(Ticket).where(Ticket.ref == printed))


def set_status(
    session: Session, ticket: Ticket, status: str, actor: str, at: datetime, note: str | None = None
) -> None:
    """Move `ticket` to `status` and record who did it; a status other than `draft` files it."""
    ticket.status = status
    ticket.draft = status == "draft"
    ticket.updated_at = at
    session.add(
        TicketStatusChange(ticket_id=ticket.id, status=status, at=at, actor=actor, note=note)
    )


def lookup_for_caller(session: Session, ref: str, caller: str | None, at: datetime) -> TicketAccess:
    """A caller asks for ticket `ref`: granted by caller ID, else they will need the PIN."""
    return _access(session, ref, caller, at, pin=None)


def check_pin(
    session: Session, ref: str, pin: str, caller: str | None, at: datetime
) -> TicketAccess:
    """A caller gives the PIN of ticket `ref`."""
    return _access(session, ref, caller, at, pin=pin)


def _access(
    session: Session, ref: str, caller: str | None, at: datetime, pin: str | None
) -> TicketAccess:
    ticket = find_ticket(session, ref)
    if ticket is None:
        _attempt(session, caller, None, at, ok=False)
        return TicketAccess(found=False, granted=False, locked=_locked(session, caller, None, at))
    if caller is not None and caller == ticket.caller:
        _attempt(session, caller, ticket.id, at, ok=True)
        return _granted(ticket)
    if _locked(session, caller, ticket.id, at):
        _attempt(session, caller, ticket.id, at, ok=False)
        return TicketAccess(found=True, granted=False, locked=True)
    if pin is None:
        return TicketAccess(found=True, granted=False, locked=False)
    ok = check_password_hash(ticket.pin_hash, pin)
    _attempt(session, caller, ticket.id, at, ok=ok)
    if ok:
        return _granted(ticket)
    return TicketAccess(found=True, granted=False, locked=_locked(session, caller, ticket.id, at))


def _granted(ticket: Ticket) -> TicketAccess:
    return TicketAccess(
        found=True, granted=True, locked=False, status=ticket.status, deadline=ticket.deadline
    )


def _next_number(session: Session, year: int) -> int:
    statement = (
        insert_statement(session, TicketCounter)
        .values(year=year, last=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.year], set_={"last": TicketCounter.last + 1}
        )
        .returning(TicketCounter.last)
    )
    return int(session.execute(statement).scalar_one())


def _attempt(
    session: Session, caller: str | None, ticket_id: int | None, at: datetime, *, ok: bool
) -> None:
    session.add(PinAttempt(caller=caller, ticket_id=ticket_id, at=at, ok=ok))


def _locked(session: Session, caller: str | None, ticket_id: int | None, at: datetime) -> bool:
    """Too many failures in the window before `at`, from this number or on this ticket."""
    if caller is not None and _too_many_failures(session, PinAttempt.caller == caller, at):
        return True
    return ticket_id is not None and _too_many_failures(
        session, PinAttempt.ticket_id == ticket_id, at
    )


def _too_many_failures(session: Session, condition: ColumnElement[bool], at: datetime) -> bool:
    """At least LOCKOUT_FAILURES failed attempts matching `condition` in the window."""
    count = session.scalar(
        select(func.count())
        .select_from(PinAttempt)
        .where(
            condition,
            PinAttempt.ok.is_(False),
            PinAttempt.at > at - LOCKOUT_WINDOW,
            PinAttempt.at <= at,
        )
    )
    return (count or 0) >= LOCKOUT_FAILURES
