"""Appointments follow the privacy rules: an export lists the number's visits, an erasure
blanks them and frees a place still to come, and the purge blanks the numbers of visits past
the numbers' retention, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

from privacy_people import DEFAULTS, OTHER, PERSON, TUESDAY

from ivr.privacy.erase import erase
from ivr.privacy.export import export
from ivr.privacy.retention import purge
from ivr.privacy.subject import subject
from ivr.recordings.files import LocalFiles
from ivr.storage import appointments
from ivr.storage.db import Database
from ivr.storage.models import Appointment
from menus.loader import load_flow

FLOW = load_flow(Path(__file__).resolve().parents[2] / "callflows.yaml").flow


def book(database: Database, caller: str, at) -> int:
    with database.session() as session:
        booking = appointments.book_first_free(
            session, FLOW, caller=caller, service="civil_status", language="ro",
            call_id=None, at=at,
        )  # fmt: skip
        assert booking is not None
        return booking.appointment.id


def visit(database: Database, appointment_id: int) -> Appointment:
    with database.session(read_only=True) as session:
        row = session.get_one(Appointment, appointment_id)
        session.expunge(row)
        return row


def test_export_and_erasure_take_the_visits_and_free_the_place(
    any_database: Database, tmp_path: Path
) -> None:
    mine, theirs = book(any_database, PERSON, TUESDAY), book(any_database, OTHER, TUESDAY)
    person = subject(PERSON, "RO")
    out = io.BytesIO()
    export(any_database, person, LocalFiles(tmp_path), out, actor="test", at=TUESDAY)
    data = json.loads(zipfile.ZipFile(out).read("data.json"))
    [row] = data["tables"]["appointments"]
    assert row["id"] == mine and row["caller"] == PERSON
    report = erase(any_database, person, LocalFiles(tmp_path), actor="test", at=TUESDAY)
    assert report.anonymised["appointments"] == 1
    erased = visit(any_database, mine)
    assert erased.caller is None and erased.status == "cancelled"
    assert visit(any_database, theirs).caller == OTHER
    freed = book(any_database, "+40744000111", TUESDAY)  # civil status: one a slot
    assert visit(any_database, freed).slot_start == erased.slot_start


def test_the_purge_blanks_the_numbers_of_visits_past_their_retention(database: Database) -> None:
    old = TUESDAY - timedelta(days=DEFAULTS.caller_numbers + 30)
    past, recent = book(database, PERSON, old), book(database, PERSON, TUESDAY)
    done = purge(database, DEFAULTS, LocalFiles(Path("/nonexistent")), now=TUESDAY)
    assert done["appointment_callers"] == 1
    assert visit(database, past).caller is None and visit(database, past).code
    assert visit(database, recent).caller == PERSON
