"""Two callers racing for a slot's last place, on SQLite and on PostgreSQL: one gets it, the
other the next slot, and no slot ever holds more people than its counter sees."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from ivr.storage import appointments
from ivr.storage.db import Database
from ivr.storage.models import Appointment, ServiceCounter
from menus.schema import Flow

FLOW = Flow.model_validate(
    yaml.safe_load((Path(__file__).resolve().parents[2] / "callflows.yaml").read_text())
)
NOW = datetime.now(UTC).replace(microsecond=0)


def book(database: Database, caller: str) -> datetime:
    with database.session() as session:
        booking = appointments.book_first_free(
            session,
            FLOW,
            caller=caller,
            service="civil_status",
            language="ro",
            call_id=None,
            at=NOW,
        )
        assert booking is not None and not booking.held
        return booking.appointment.slot_start


def test_two_bookings_of_the_last_place_never_overfill_it(any_database: Database) -> None:
    with any_database.session() as session:
        appointments.counter_of(session, FLOW, "civil_status", NOW).capacity = 2
    first = book(any_database, "+40722000001")  # one of the first slot's two places
    barrier = threading.Barrier(2)
    got: list[datetime] = []

    def race(caller: str) -> None:
        barrier.wait()
        got.append(book(any_database, caller))

    threads = [threading.Thread(target=race, args=(f"+4072200001{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with any_database.session(read_only=True) as session:
        slots = Counter(session.scalars(select(Appointment.slot_start)))
        assert session.get_one(ServiceCounter, "civil_status").capacity == 2
    assert sorted(got)[0] == first and sorted(got)[1] > first
    assert slots[first] == 2 and max(slots.values()) == 2 and sum(slots.values()) == 3


def test_a_cancelled_place_is_free_again_at_once(database: Database) -> None:
    first = book(database, "+40722000001")  # civil status: one person a slot
    assert book(database, "+40722000002") == first + timedelta(minutes=30)
    with database.session() as session:
        taken = session.scalars(select(Appointment).where(Appointment.slot_start == first)).one()
        appointments.cancel(taken, NOW, "SMS 0")
    assert book(database, "+40722000003") == first
