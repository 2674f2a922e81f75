"""The retention purge over callers' data of several ages, on SQLite and PostgreSQL; a purge
that stops half-way and is run again; the daily job."""

from __future__ import annotations

import os
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from privacy_people import DEFAULTS, NATIONAL, OTHER, PERSON, TUESDAY, make_person, services, traces
from sqlalchemy import func, select, update

from ivr.cli import main
from ivr.privacy import retention
from ivr.privacy.retention import PURGE_JOB, purge, purge_handlers, schedule_purge
from ivr.recordings import Recordings
from ivr.recordings.files import LocalFiles
from ivr.storage.db import Database
from ivr.storage.models import (
    AuditEntry,
    Call,
    CallEvent,
    CallHourStats,
    Job,
    Recording,
    Ticket,
    TicketNote,
)

OLD = TUESDAY - timedelta(days=400)
RECENT = TUESDAY - timedelta(days=10)


@pytest.fixture
def aged(any_database: Database, tmp_path: Path):
    root = tmp_path / "recordings"
    store = Recordings.local(any_database, root)
    line = services(any_database, tmp_path)
    old_ref = make_person(line, store, PERSON, OLD)
    new_ref = make_person(line, store, OTHER, RECENT, "lamp out in Ionescu street", "Ionescu")
    with any_database.session() as session:
        session.execute(
            update(Ticket).where(Ticket.ref == old_ref).values(status="resolved", updated_at=OLD)
        )
        for call in session.scalars(select(Call)):  # what each caller said, for the search
            call.transcript = f"{'Popescu' if call.caller == PERSON else 'Ionescu'} said this"
    return any_database, root, old_ref, new_ref


def files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.wav"))


def test_what_is_past_its_time_goes_and_the_rest_stays(aged) -> None:
    database, root, old_ref, _ = aged
    with database.session() as session:
        stats = session.scalar(select(func.count()).select_from(CallHourStats))
    assert len(files(root)) == 8
    done = purge(database, DEFAULTS, LocalFiles(root), now=TUESDAY)
    assert done["recordings"] == 4 and done["call_callers"] == 3 and done["languages"] == 1
    assert len(files(root)) == 4
    said = ("Popescu said", "popescu said")  # on the call, and folded in its search words
    left = {(t, column) for t, column, _ in traces(database, NATIONAL, "Popescu's gate", *said)}
    # kept: notes are the city's own writing; an opt-out is honoured as long as it stands
    assert left == {("ticket_notes", "body"), ("sms_opt_outs", "number")}
    assert traces(database, OTHER[3:]) and traces(database, "Ionescu street")
    assert traces(database, "ionescu said"), "a recent call keeps its search words"
    with database.session() as session:
        old = session.scalars(select(Ticket).where(Ticket.ref == old_ref)).one()
        assert (old.status, old.caller, old.description) == ("resolved", None, None)
        assert session.scalar(select(func.count()).select_from(CallHourStats)) == stats
        assert session.scalar(select(func.count()).select_from(Call)) == 6
        kept = session.scalars(select(CallEvent.call_id).distinct()).all()
        assert len(kept) == 3 and session.scalar(select(func.count(Recording.id))) == 4
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.purge"))
        assert entry.details["call_events"] > 0
    assert purge(database, DEFAULTS, LocalFiles(root), now=TUESDAY)["recordings"] == 0


def test_the_citizens_own_notes_go_with_the_description_and_the_officers_stay(aged) -> None:
    database, root, old_ref, new_ref = aged
    with database.session() as session:
        tickets = {t.ref: t for t in session.scalars(select(Ticket))}
        recording = session.scalars(select(Recording).order_by(Recording.created_at)).first()
        for ref, at in ((old_ref, OLD), (new_ref, RECENT)):
            said = {"body": "said on the phone", "recording_id": recording.id}
            for source, fields in (("sms", {"body": "my gate, again"}), ("phone", said)):
                session.add(
                    TicketNote(
                        ticket_id=tickets[ref].id,
                        kind="note",
                        author="citizen",
                        source=source,
                        at=at,
                        **fields,
                    )
                )
    done = purge(database, DEFAULTS, LocalFiles(root), now=TUESDAY)
    assert done["citizen_notes"] == 2
    with database.session() as session:
        notes = session.execute(
            select(Ticket.ref, TicketNote.source, TicketNote.body, TicketNote.recording_id)
            .join(Ticket)
            .order_by(Ticket.ref, TicketNote.id)
        ).all()
    by_ticket = {ref: {(n.source, n.body) for n in notes if n.ref == ref} for ref in tickets}
    assert ("sms", "") in by_ticket[old_ref] and ("phone", "") in by_ticket[old_ref]
    assert ("sms", "my gate, again") in by_ticket[new_ref], "an open report keeps its notes"
    assert any(s == "officer" and "called from" in b for s, b in by_ticket[old_ref])
    # the purged recording leaves no note pointing at it, on any ticket
    assert all(n.recording_id != recording.id for n in notes)


def test_a_purge_stopped_half_way_is_finished_by_the_next(aged, monkeypatch) -> None:
    database, root, _, _ = aged
    monkeypatch.setattr(retention, "BATCH", 1)
    real_unlink = Path.unlink

    def crash(path: Path, missing_ok: bool = False) -> None:
        raise OSError("the worker was stopped")

    monkeypatch.setattr(Path, "unlink", crash)
    with pytest.raises(OSError, match="stopped"):
        purge(database, DEFAULTS, LocalFiles(root), now=TUESDAY)
    monkeypatch.setattr(Path, "unlink", real_unlink)
    with database.session() as session:
        assert session.scalar(select(func.count(Recording.id))) == 7, "one batch committed"
    for path in files(root):  # the files the stopped run left behind are old
        os.utime(path, (OLD.timestamp(), OLD.timestamp()))
    missing = next(p for p in files(root) if p.stat().st_size)
    done = purge(database, DEFAULTS, LocalFiles(root), now=TUESDAY)
    assert done["recordings"] + done["recording_files_missing"] == 3
    assert done["orphan_files"] == 1
    assert len(files(root)) == 4 and missing is not None
    assert {t for t, _, _ in traces(database, NATIONAL)} == {"ticket_notes", "sms_opt_outs"}


def test_a_missing_file_is_reported_not_fatal(aged) -> None:
    database, root, _, _ = aged
    with database.session() as session:
        first = session.scalars(select(Recording).order_by(Recording.created_at)).first()
    (root / first.path).unlink()
    done = purge(database, DEFAULTS, LocalFiles(root), now=TUESDAY)
    assert done["recording_files_missing"] == 1 and done["recordings"] == 3


def test_the_daily_job_is_scheduled_once_and_reschedules_itself(database: Database, tmp_path):
    night = TUESDAY.replace(hour=2, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert schedule_purge(database, TUESDAY)
    assert not schedule_purge(database, TUESDAY + timedelta(hours=1)), "a second worker"
    purge_handlers(database, DEFAULTS, LocalFiles(tmp_path), lambda: night)[PURGE_JOB]({})
    with database.session() as session:
        run_after = session.scalars(select(Job.run_after).where(Job.kind == PURGE_JOB)).all()
    assert sorted(at.astimezone(UTC) for at in run_after) == [night, night + timedelta(days=1)]


def test_ivr_privacy_purge_counts_on_a_dry_run_then_purges(aged, tmp_path: Path) -> None:
    database, root, _, _ = aged
    env = {"CIVICLINE_DATA_DIR": str(root.parent), "CIVICLINE_DATABASE_URL": str(database.url)}

    def ivr(*args: str) -> str:
        result = CliRunner().invoke(main, ["privacy", "purge", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert "recordings: 4 would be purged" in ivr("--dry-run").splitlines()
    assert len(files(root)) == 8
    with database.session() as session:
        assert session.scalar(select(func.count(Recording.id))) == 8
        assert not session.scalars(
            select(AuditEntry).where(AuditEntry.action == "privacy.purge")
        ).all()
    purged = ivr().splitlines()
    assert "recordings: 4 purged" in purged and "languages: 1 purged" in purged
    assert len(files(root)) == 4
