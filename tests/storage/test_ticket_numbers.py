"""Registration numbers: `YY-NNNNNN`, sequential and gap-free per local year, also when
threads and processes file tickets at the same time."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ivr.storage.db import Database
from ivr.storage.models import Ticket, TicketStatusChange
from ivr.storage.tickets import create_ticket, format_ref, new_pin, parse_ref

from .filing import AT, BUCHAREST, file_ticket


def file_many(url: str, count: int, start: threading.Barrier | None = None) -> None:
    """File `count` tickets through a Database of its own (a thread's or a process's)."""
    database = Database(url)
    try:
        if start is not None:
            start.wait()
        for _ in range(count):
            file_ticket(database)
    finally:
        database.dispose()


def file_many_in_process(url: str, count: int, start: object) -> None:
    start.wait()  # type: ignore[attr-defined]  # a multiprocessing Barrier
    file_many(url, count)


def stored_numbers(database: Database) -> list[int]:
    with database.session(read_only=True) as session:
        return list(session.scalars(select(Ticket.number).order_by(Ticket.number)))


@pytest.mark.parametrize(
    ("year", "number", "ref"),
    [(2026, 123, "26-000123"), (2027, 1, "27-000001"), (2100, 999999, "00-999999")],
)
def test_format_ref(year: int, number: int, ref: str) -> None:
    assert format_ref(year, number) == ref


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("26000123", "26-000123"),
        ("26-000123", "26-000123"),
        ("26 000 123", "26-000123"),
        (" 26-000 123 ", "26-000123"),
        ("2600012", None),
        ("260001234", None),
        ("26/000123", None),
        ("ab-000123", None),
        ("", None),
    ],
)
def test_parse_ref(text: str, ref: str | None) -> None:
    assert parse_ref(text) == ref


def test_a_ticket_gets_number_deadline_pin_and_first_status(any_database: Database) -> None:
    ticket, pin = file_ticket(any_database)
    assert (ticket.ref, ticket.year, ticket.number) == ("26-000001", 2026, 1)
    assert ticket.deadline == AT.date() + timedelta(days=10)
    assert len(pin) == 4 and pin.isdigit()
    assert pin not in ticket.pin_hash
    with any_database.session(read_only=True) as session:
        history = session.scalars(select(TicketStatusChange)).all()
    assert [(change.status, change.at) for change in history] == [("registered", AT)]


def test_a_draft_starts_as_draft_without_a_deadline(any_database: Database) -> None:
    ticket, _ = file_ticket(any_database, draft=True, deadline_days=None)
    assert (ticket.status, ticket.draft, ticket.deadline) == ("draft", True, None)


def test_the_deadline_counts_from_the_local_date(any_database: Database) -> None:
    late_evening = datetime(2026, 5, 4, 21, 30, tzinfo=UTC)  # 00:30 on 5 May in Bucharest
    ticket, _ = file_ticket(any_database, at=late_evening, deadline_days=3)
    assert ticket.deadline == datetime(2026, 5, 8).date()


def test_numbers_restart_at_local_new_year(any_database: Database) -> None:
    last_of_2026 = datetime(2026, 12, 31, 21, 59, tzinfo=UTC)  # 23:59 in Bucharest
    first_of_2027 = datetime(2026, 12, 31, 22, 0, tzinfo=UTC)  # 00:00 in Bucharest
    refs = [
        file_ticket(any_database, at=last_of_2026)[0].ref,
        file_ticket(any_database, at=last_of_2026)[0].ref,
        file_ticket(any_database, at=first_of_2027)[0].ref,
        file_ticket(any_database, at=first_of_2027)[0].ref,
    ]
    assert refs == ["26-000001", "26-000002", "27-000001", "27-000002"]


def test_a_rolled_back_ticket_gives_its_number_back(any_database: Database) -> None:
    with pytest.raises(RuntimeError), any_database.session() as session:
        create_ticket(
            session,
            pin=new_pin(),
            kind="report",
            draft=False,
            caller=None,
            language="ro",
            department=None,
            category=None,
            district=None,
            recording_id=None,
            description=None,
            deadline_days=None,
            call_id=None,
            at=AT,
            zone=BUCHAREST,
        )
        raise RuntimeError("the call's storage failed")
    assert file_ticket(any_database)[0].ref == "26-000001"


def test_threads_filing_at_once_get_every_number_once(any_url: str) -> None:
    database = Database(any_url)
    database.upgrade()
    threads, each = 8, 25
    start = threading.Barrier(threads)
    workers = [
        threading.Thread(target=file_many, args=(any_url, each, start)) for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert stored_numbers(database) == list(range(1, threads * each + 1))
    database.dispose()


def test_processes_filing_at_once_get_every_number_once(any_url: str) -> None:
    database = Database(any_url)
    database.upgrade()
    processes, each = 4, 25
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    workers = [
        context.Process(target=file_many_in_process, args=(any_url, each, start))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * processes
    assert stored_numbers(database) == list(range(1, processes * each + 1))
    database.dispose()
