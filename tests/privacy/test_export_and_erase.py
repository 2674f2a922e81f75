"""Export then erase a number that has calls, tickets, callbacks, SMS and recordings; then
look through every table and the data directory for anything left of it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from privacy_people import (
    NATIONAL,
    OTHER,
    PERSON,
    TUESDAY,
    WORDS,
    make_person,
    services,
    traces,
)
from sqlalchemy import select, update

from ivr.privacy.erase import OpenTickets, erase
from ivr.privacy.export import export
from ivr.privacy.subject import BadNumber, mask_number, subject
from ivr.recordings import Recordings
from ivr.recordings.files import LocalFiles
from ivr.storage.db import Database
from ivr.storage.models import AuditEntry, Call, Callback, Recording, Ticket

IVR = str(Path(sys.executable).with_name("ivr"))


@pytest.fixture
def people(any_database: Database, tmp_path: Path):
    root = tmp_path / "data" / "recordings"
    store = Recordings.local(any_database, root)
    line = services(any_database, tmp_path)
    ref = make_person(line, store, PERSON, TUESDAY)
    later = TUESDAY + timedelta(days=1)
    other_ref = make_person(line, store, OTHER, later, "lamp out in Ionescu street", "Ionescu")
    return any_database, root, ref, other_ref


def close(database: Database, ref: str) -> None:
    with database.session() as session:
        session.execute(update(Ticket).where(Ticket.ref == ref).values(status="resolved"))


def test_every_format_of_a_number_is_the_same_person() -> None:
    for raw in ("0722111222", "+40722111222", "0040722111222", "0722 111 222"):
        assert subject(raw, "RO").e164 == PERSON
    assert subject("0722111222", "RO").national == NATIONAL
    assert mask_number(PERSON) == "+40 722 *** 222"
    with pytest.raises(BadNumber, match="not a phone number"):
        subject("12", "RO")


def test_export_holds_everything_about_the_number_and_nothing_of_others(people) -> None:
    database, root, ref, other_ref = people
    out = io.BytesIO()
    done = export(
        database, subject("0040722111222", "RO"), LocalFiles(root), out, actor="t", at=TUESDAY
    )
    archive = zipfile.ZipFile(out)
    data = json.loads(archive.read("data.json"))
    tables = data["tables"]
    assert data["number"] == PERSON
    assert [t["ref"] for t in tables["tickets"]] == [ref]
    assert {len(tables["calls"]), len(tables["callbacks"]), len(tables["sms_inbound"])} == {3, 1}
    assert WORDS in json.dumps(tables["tickets"]) and tables["caller_preferences"]
    assert tables["sms_opt_outs"] and tables["pin_attempts"] and tables["ticket_notes"]
    assert {r["kind"] for r in tables["recordings"]} == {"description", "call"}
    audio = [name for name in archive.namelist() if name.startswith("audio/")]
    assert len(audio) == done.audio_files == len(tables["recordings"]) == 4
    assert other_ref not in json.dumps(data) and OTHER not in json.dumps(data)
    with database.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.export"))
        assert entry.one().target == "+40 722 *** 222"


def test_erase_refuses_open_tickets_unless_forced(people) -> None:
    database, root, ref, _ = people
    with pytest.raises(OpenTickets) as refused:
        erase(database, subject(PERSON, "RO"), LocalFiles(root), actor="t", at=TUESDAY)
    assert refused.value.refs == [ref]
    assert traces(database, NATIONAL), "nothing may be erased when it is refused"
    done = erase(
        database, subject(PERSON, "RO"), LocalFiles(root), actor="t", at=TUESDAY, force=True
    )
    assert done.open_tickets == [ref]
    with database.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ref == ref)).one()
        assert (ticket.status, ticket.caller, ticket.description) == ("registered", None, None)


def test_after_erasure_no_trace_is_left_in_the_database_or_the_data_directory(people) -> None:
    database, root, ref, other_ref = people
    close(database, ref)
    with database.session() as session:
        person_files = [
            root / r.path
            for r in session.scalars(select(Recording)).all()
            if session.get(Call, r.call_id).caller == PERSON
        ]
        before = {name: session.query(model).count() for name, model in COUNTED.items()}
    said_on_the_line(database, PERSON, "Popescu said this on the line")
    person_files[0].unlink()  # already missing: reported, not fatal
    done = erase(database, subject("0722111222", "RO"), LocalFiles(root), actor="ana", at=TUESDAY)
    assert done.files_missing == [str(person_files[0].relative_to(root))]
    assert len(done.files_deleted) == len(person_files) - 1
    assert not any(path.exists() for path in person_files)
    assert not traces(database, NATIONAL, "Popescu", "popescu", WORDS)
    assert traces(database, OTHER[3:]) and traces(database, "Ionescu")
    with database.session() as session:
        assert session.scalars(select(Ticket.ref).order_by(Ticket.id)).all() == [ref, other_ref]
        assert session.scalars(select(Ticket.status).where(Ticket.ref == ref)).one() == "resolved"
        after = {name: session.query(model).count() for name, model in COUNTED.items()}
        assert after == before, "calls, tickets and callbacks are kept, anonymised"
        other = session.scalars(select(Ticket).where(Ticket.ref == other_ref)).one()
        assert other.caller == OTHER and other.description == "lamp out in Ionescu street"
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erase"))
        assert entry.actor == "ana" and entry.target == "+40 722 *** 222"
        assert entry.details["deleted"]["call_events"] > 0
    if database.dialect == "sqlite":
        database.dispose()
        for path in root.parents[1].rglob("*"):
            if path.is_file():
                assert NATIONAL.encode() not in path.read_bytes(), path


COUNTED = {"calls": Call, "tickets": Ticket, "callbacks": Callback}


def said_on_the_line(database: Database, caller: str, words: str) -> None:
    """What `caller` said on the line, kept on their calls (and so in the search words)."""
    with database.session() as session:
        for call in session.scalars(select(Call).where(Call.caller == caller)):
            call.transcript = words


def test_the_command_line_exports_and_erases_in_any_format(database: Database, tmp_path: Path):
    data = tmp_path / "data"
    store = Recordings.local(database, data / "recordings")
    ref = make_person(services(database, tmp_path), store, PERSON, TUESDAY)
    env = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(data),
        "CIVICLINE_DATABASE_URL": str(database.url),
        "CIVICLINE_LOG_LEVEL": "WARNING",
    }

    def ivr(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [IVR, "privacy", *args], capture_output=True, text=True, env=env, timeout=120
        )

    out = tmp_path / "export.zip"
    exported = ivr("export", "0040722111222", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "tickets 1" in exported.stdout and "4 audio files" in exported.stdout
    refused = ivr("erase", "0722111222")
    assert refused.returncode == 1 and f"open tickets {ref}" in refused.stderr
    assert "+40 722 *** 222: nothing erased" in refused.stderr
    erased = ivr("erase", "+40722111222", "--force")
    assert erased.returncode == 0, erased.stderr
    assert (
        "call_events:" in erased.stdout and f"open tickets kept, anonymised: {ref}" in erased.stdout
    )
    assert not traces(database, NATIONAL)
    bad = ivr("erase", "hello")
    assert bad.returncode == 2 and "not a phone number" in bad.stderr
