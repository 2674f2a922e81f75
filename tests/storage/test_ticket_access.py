"""Who may hear a ticket's status: its own number, or whoever has the PIN; lockout after
five failures in an hour, per calling number and per ticket; no PIN stored in clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select, text

from ivr.storage.db import Database
from ivr.storage.models import PinAttempt
from ivr.storage.tickets import TicketAccess, check_pin, lookup_for_caller, set_status

from .filing import file_ticket

OWNER = "+40722111222"
STRANGER = "+40733000111"
AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 10_000:04d}"


def lookup(database: Database, ref: str, caller: str | None, at: datetime) -> TicketAccess:
    with database.session() as session:
        return lookup_for_caller(session, ref, caller, at)


def pin_check(
    database: Database, ref: str, pin: str, caller: str | None, at: datetime
) -> TicketAccess:
    with database.session() as session:
        return check_pin(session, ref, pin, caller, at)


def test_the_owner_is_granted_by_caller_id(any_database: Database) -> None:
    ticket, _ = file_ticket(any_database, caller=OWNER)
    access = lookup(any_database, "26 000 001", OWNER, AT)
    assert access == TicketAccess(
        found=True, granted=True, locked=False, status="registered", deadline=ticket.deadline
    )


def test_a_stranger_needs_the_pin(any_database: Database) -> None:
    file_ticket(any_database, caller=OWNER)
    access = lookup(any_database, "26-000001", STRANGER, AT)
    assert access == TicketAccess(found=True, granted=False, locked=False)


def test_the_right_pin_grants_and_shows_the_current_status(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    with any_database.session() as session:
        set_status(session, session.merge(ticket), "in_progress", "officer:ana", AT, "on site")
    access = pin_check(any_database, ticket.ref, pin, STRANGER, AT + timedelta(minutes=1))
    assert (access.granted, access.status, access.deadline) == (
        True,
        "in_progress",
        ticket.deadline,
    )


def test_a_wrong_pin_is_refused_without_the_status(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    access = pin_check(any_database, ticket.ref, wrong(pin), STRANGER, AT)
    assert access == TicketAccess(found=True, granted=False, locked=False)


def test_a_withheld_number_never_matches_by_caller_id(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=None)
    assert lookup(any_database, ticket.ref, None, AT).granted is False
    assert pin_check(any_database, ticket.ref, pin, None, AT).granted is True


def test_an_unknown_number_is_not_found(any_database: Database) -> None:
    assert lookup(any_database, "26-000099", STRANGER, AT) == TicketAccess(
        found=False, granted=False, locked=False
    )
    assert lookup(any_database, "not a ref", STRANGER, AT).found is False


def test_five_wrong_pins_lock_the_ticket_even_for_the_right_pin(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    results = [
        pin_check(any_database, ticket.ref, wrong(pin), STRANGER, AT + timedelta(minutes=i))
        for i in range(5)
    ]
    assert [access.locked for access in results] == [False] * 4 + [True]
    later = AT + timedelta(minutes=10)
    assert pin_check(any_database, ticket.ref, pin, STRANGER, later) == TicketAccess(
        found=True, granted=False, locked=True
    )


def test_the_lock_is_per_calling_number_across_tickets(any_database: Database) -> None:
    tickets = [file_ticket(any_database, caller=OWNER) for _ in range(6)]
    for minute, (ticket, pin) in enumerate(tickets[:5]):
        pin_check(any_database, ticket.ref, wrong(pin), STRANGER, AT + timedelta(minutes=minute))
    sixth, sixth_pin = tickets[5]
    later = AT + timedelta(minutes=10)
    assert pin_check(any_database, sixth.ref, sixth_pin, STRANGER, later).locked is True
    assert pin_check(any_database, sixth.ref, sixth_pin, "+40744000222", later).granted is True


def test_the_lock_is_per_ticket_across_numbers(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    for i in range(5):
        caller = f"+4074400000{i}"
        pin_check(any_database, ticket.ref, wrong(pin), caller, AT + timedelta(minutes=i))
    later = AT + timedelta(minutes=10)
    assert pin_check(any_database, ticket.ref, pin, "+40755000333", later).locked is True
    assert pin_check(any_database, ticket.ref, pin, None, later).locked is True


def test_withheld_callers_are_limited_per_ticket(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    for i in range(5):
        pin_check(any_database, ticket.ref, wrong(pin), None, AT + timedelta(minutes=i))
    assert pin_check(any_database, ticket.ref, pin, None, AT + timedelta(minutes=6)).locked


def test_the_owner_is_not_shut_out_by_a_lock(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    for i in range(5):
        pin_check(any_database, ticket.ref, wrong(pin), STRANGER, AT + timedelta(minutes=i))
    assert lookup(any_database, ticket.ref, OWNER, AT + timedelta(minutes=6)).granted is True


def test_looking_up_unknown_numbers_locks_the_calling_number(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    for i in range(5):
        assert lookup(any_database, f"26-00010{i}", STRANGER, AT).found is False
    assert lookup(any_database, "26-000200", STRANGER, AT).locked is True
    assert pin_check(any_database, ticket.ref, pin, STRANGER, AT).locked is True


def test_the_lock_ends_an_hour_after_the_failures(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    for i in range(5):
        pin_check(any_database, ticket.ref, wrong(pin), STRANGER, AT + timedelta(minutes=i))
    assert pin_check(any_database, ticket.ref, pin, STRANGER, AT + timedelta(minutes=59)).locked
    an_hour_after_the_fifth = AT + timedelta(minutes=4, hours=1)
    unlocked = pin_check(any_database, ticket.ref, pin, STRANGER, an_hour_after_the_fifth)
    assert unlocked.granted is True


def test_every_attempt_is_stored(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database, caller=OWNER)
    lookup(any_database, ticket.ref, OWNER, AT)
    pin_check(any_database, ticket.ref, wrong(pin), STRANGER, AT)
    pin_check(any_database, ticket.ref, pin, STRANGER, AT)
    lookup(any_database, "26-000404", STRANGER, AT)
    with any_database.session(read_only=True) as session:
        attempts = session.execute(
            select(PinAttempt.caller, PinAttempt.ticket_id, PinAttempt.ok).order_by(PinAttempt.id)
        ).all()
    assert [tuple(row) for row in attempts] == [
        (OWNER, ticket.id, True),
        (STRANGER, ticket.id, False),
        (STRANGER, ticket.id, True),
        (STRANGER, None, False),
    ]


def test_no_pin_is_stored_in_clear(any_database: Database) -> None:
    pins = [file_ticket(any_database, caller=OWNER)[1] for _ in range(3)]
    ticket, pin = file_ticket(any_database, caller=OWNER)
    pin_check(any_database, ticket.ref, pin, STRANGER, AT)
    pin_check(any_database, ticket.ref, wrong(pin), STRANGER, AT)
    with any_database.engine.connect() as connection:
        texts = {
            value
            for table in inspect(connection).get_table_names()
            for row in connection.execute(text(f'SELECT * FROM "{table}"'))
            for value in row
            if isinstance(value, str)
        }
    assert texts.isdisjoint([*pins, pin])
    assert all(f"${clear}$" not in value for value in texts for clear in [*pins, pin])
