"""A description Twilio recorded that will never come is said so on each ticket that links
it, on SQLite and PostgreSQL: Twilio's failed or absent recording callback, whether the
ticket is filed before or after it, a download the job gives up on (404 at Twilio, with
the real `twilio` client against the local stand-in) and one that kept failing until the
worker's attempts were spent. Once, and never over a transcript."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hand_clock import Clock
from sqlalchemy import select
from twilio_rest_standin import TwilioStandIn, a_wav, running_standin
from twilio_signing import KOREAN_FLOW

from ivr.calls.effects import Effects
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.jobs import PermanentJobError, Worker
from ivr.recordings import Recordings
from ivr.storage import calls
from ivr.storage import twilio as twilio_store
from ivr.storage.db import Database
from ivr.storage.models import Job, Ticket, TicketNote, TwilioRecording
from ivr.storage.transcriptions import NOTE_AUTHOR
from ivr.storage.twilio import DOWNLOAD_RECORDING
from menus.loader import load_flow
from webhooks.recordings import recording_give_ups, recording_handlers

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CALL = "CA" + "4" * 32
DESCRIPTION = "RE" + "5" * 32
LOST = "The recorded description will not be transcribed"
FAILED = "the recording failed at Twilio (RecordingStatus failed)"
GONE = "Twilio has no such recording any more (404); it was never downloaded"


@pytest.fixture
def effects(any_database: Database) -> Effects:
    """A gather-mode call on the Korean flow whose caller recorded a description."""
    loaded = load_flow(KOREAN_FLOW)
    with any_database.session() as db:
        calls.save_flow_version(db, loaded.version, loaded.source, str(KOREAN_FLOW), AT)
        calls.start_call(
            db, call_id=CALL, caller=None, channel="twilio",
            flow_version=loaded.version, language="ko", at=AT,
        )  # fmt: skip
    return Effects(any_database, loaded.flow, CALL)


@pytest.fixture
def twilio_api() -> Iterator[TwilioStandIn]:
    with running_standin() as server:
        yield server


def file_ticket(effects: Effects) -> int:
    """The confirmed report, linking the description by its RecordingSid."""
    report = act.CreateTicket(
        kind="report", draft=False, caller=None, language="ko", department="parks",
        recording_id=DESCRIPTION,
    )  # fmt: skip
    created = effects.carry_out(report, AT)
    assert isinstance(created, ev.TicketCreated)
    with effects.database.session(read_only=True) as db:
        return db.scalars(select(Ticket.id)).one()


def held_at_twilio(effects: Effects, twilio_api: TwilioStandIn) -> int:
    """A filed ticket whose description Twilio recorded and holds: its download is queued."""
    ticket_id = file_ticket(effects)
    assert report(effects.database, "completed")
    twilio_api.files[DESCRIPTION] = a_wav()
    return ticket_id


def report(database: Database, status: str) -> bool:
    with database.session() as db:
        return twilio_store.record_recording(db, DESCRIPTION, CALL, "description", status, AT)


def said_on(database: Database, ticket_id: int) -> tuple[object, list[str]]:
    """The ticket's transcript and the notes civicline wrote on it."""
    with database.session(read_only=True) as db:
        transcript = db.get_one(Ticket, ticket_id).transcript
        notes = db.scalars(
            select(TicketNote.body).where(
                TicketNote.ticket_id == ticket_id, TicketNote.author == NOTE_AUTHOR
            )
        ).all()
    return transcript, list(notes)


def test_a_failed_callback_is_noted_on_the_ticket_linking_it_once(
    any_database: Database, effects: Effects
) -> None:
    ticket_id = file_ticket(effects)
    assert report(any_database, "failed")
    assert not report(any_database, "failed")  # Twilio retries: kept once, said once
    assert said_on(any_database, ticket_id) == (
        {"note": f"not transcribed: {FAILED}", "language": "ko"},
        [f"{LOST}: {FAILED}"],
    )


def test_a_ticket_filed_after_the_failure_is_noted_by_its_filing(
    any_database: Database, effects: Effects
) -> None:
    assert report(any_database, "failed")
    ticket_id = file_ticket(effects)
    assert said_on(any_database, ticket_id)[1] == [f"{LOST}: {FAILED}"]


def test_a_transcript_is_never_overwritten_by_the_note(
    any_database: Database, effects: Effects
) -> None:
    ticket_id = file_ticket(effects)
    transcript = {"text": "나무가 쓰러졌습니다", "language": "ko"}
    with any_database.session() as db:
        db.get_one(Ticket, ticket_id).transcript = transcript
    assert report(any_database, "failed")
    assert said_on(any_database, ticket_id) == (transcript, [f"{LOST}: {FAILED}"])


def test_a_download_twilio_answers_404_is_noted_with_its_row(
    any_database: Database, effects: Effects, twilio_api: TwilioStandIn, tmp_path: Path
) -> None:
    ticket_id = file_ticket(effects)
    assert report(any_database, "completed")
    store = Recordings.local(any_database, tmp_path / "recordings")
    download = recording_handlers(any_database, twilio_api.client(), store)[DOWNLOAD_RECORDING]
    for _ in range(2):  # the job run again says it once
        with pytest.raises(PermanentJobError, match="404"):
            download({"recording_sid": DESCRIPTION})
    with any_database.session(read_only=True) as db:
        assert db.get_one(TwilioRecording, DESCRIPTION).problem == GONE
    assert said_on(any_database, ticket_id) == (
        {"note": f"not transcribed: {GONE}", "language": "ko"},
        [f"{LOST}: {GONE}"],
    )


def test_a_download_that_kept_failing_is_noted_when_its_attempts_are_spent(
    any_database: Database, effects: Effects, twilio_api: TwilioStandIn, tmp_path: Path
) -> None:
    ticket_id = held_at_twilio(effects, twilio_api)
    twilio_api.failures = 100
    store = Recordings.local(any_database, tmp_path / "recordings")
    clock = Clock()
    worker = Worker(
        any_database,
        recording_handlers(any_database, twilio_api.client(), store),
        worker_id="w1",
        clock=clock,
        backoff_seconds=1,
        max_backoff_seconds=1,
        give_ups=recording_give_ups(any_database, clock),
    )
    runs = 0
    while worker.run_once():
        runs += 1
        clock.now += timedelta(seconds=2)
    why = "its download was given up (8 attempts failed, the last with HTTPError: 500 Server Error"
    transcript, notes = said_on(any_database, ticket_id)
    assert runs == 8 and len(notes) == 1 and notes[0].startswith(f"{LOST}: {why}")
    assert isinstance(transcript, dict) and transcript["note"].startswith(f"not transcribed: {why}")
    with any_database.session(read_only=True) as db:
        assert db.scalars(select(Job.status)).one() == "failed"


def test_a_recording_kept_before_its_attempts_were_spent_is_not_said_lost(
    any_database: Database, effects: Effects, twilio_api: TwilioStandIn, tmp_path: Path
) -> None:
    ticket_id = held_at_twilio(effects, twilio_api)
    store = Recordings.local(any_database, tmp_path / "recordings")
    recording_handlers(any_database, twilio_api.client(), store)[DOWNLOAD_RECORDING](
        {"recording_sid": DESCRIPTION}
    )
    give_up = recording_give_ups(any_database)[DOWNLOAD_RECORDING]
    give_up({"recording_sid": DESCRIPTION}, "deleting it at Twilio kept failing")
    assert said_on(any_database, ticket_id) == (None, [])
