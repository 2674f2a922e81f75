"""A description Twilio recorded is linked to the draft its call filed at the hang-up and
transcribed once, by the second of the link and the download, on SQLite and PostgreSQL; on
PostgreSQL a ticket filed while its recording's download is being noted waits for that
(the call's row lock) instead of missing it, so its transcription is never lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from twilio_rest_standin import a_wav
from twilio_signing import KOREAN_FLOW

from ivr.calls.effects import Effects
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.recordings import Recordings
from ivr.storage import calls
from ivr.storage import twilio as twilio_store
from ivr.storage.db import Database
from ivr.storage.models import Job, Ticket
from ivr.storage.transcriptions import TRANSCRIBE
from menus.loader import load_flow

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CALL = "CA" + "1" * 32
REFUSED, CUT_OFF = "RE" + "2" * 32, "RE" + "3" * 32


def a_gather_call(database: Database) -> Effects:
    """A call on the Korean flow that recorded a first description, heard and refused."""
    loaded = load_flow(KOREAN_FLOW)
    with database.session() as db:
        calls.save_flow_version(db, loaded.version, loaded.source, str(KOREAN_FLOW), AT)
        calls.start_call(
            db, call_id=CALL, caller=None, channel="twilio",
            flow_version=loaded.version, language="ko", at=AT,
        )  # fmt: skip
        payload = {"at": AT.isoformat(), "recording_id": REFUSED, "seconds": 0.2}
        calls.append_event(
            db, call_id=CALL, seq=1, kind="event", type="RecordingFinished", payload=payload, at=AT
        )
    return Effects(database, loaded.flow, CALL)


def file(effects: Effects, recording_id: str | None, *, draft: bool) -> ev.Event | None:
    report = act.CreateTicket(
        kind="report", draft=draft, caller=None, language="ko", department="parks",
        recording_id=recording_id,
    )  # fmt: skip
    return effects.carry_out(report, AT)


def store_file(database: Database, tmp_path: Path, recording_sid: str) -> None:
    """The download job's first half: the file kept in the store under its RecordingSid."""
    store = Recordings.local(database, tmp_path / "recordings")
    store.save_wav(CALL, "description", a_wav(), AT, recording_id=recording_sid)


def transcriptions(database: Database) -> list[dict[str, object]]:
    with database.session(read_only=True) as db:
        return [job.payload for job in db.scalars(select(Job).where(Job.kind == TRANSCRIBE))]


def test_the_draft_takes_the_unheard_description_and_its_download_queues_one_transcription(
    any_database: Database, tmp_path: Path
) -> None:
    effects = a_gather_call(any_database)
    with any_database.session() as db:  # both callbacks come before the hang-up
        for recording_sid in (REFUSED, CUT_OFF):
            assert twilio_store.record_recording(
                db, recording_sid, CALL, "description", "completed", AT
            )
    assert isinstance(file(effects, None, draft=True), ev.TicketCreated)
    with any_database.session(read_only=True) as db:
        draft = db.scalars(select(Ticket)).one()
    assert (draft.draft, draft.recording_id) == (True, CUT_OFF)
    assert transcriptions(any_database) == []  # the file is still at Twilio

    store_file(any_database, tmp_path, CUT_OFF)
    for _ in range(2):  # the job run again notes nothing new
        with any_database.session() as db:
            twilio_store.note_downloaded(db, CUT_OFF, CUT_OFF, AT)
    assert transcriptions(any_database) == [{"ticket_id": draft.id, "recording_id": CUT_OFF}]


def test_a_ticket_filed_while_its_download_is_noted_waits_and_queues_the_transcription(
    pg_database: Database, tmp_path: Path
) -> None:
    effects = a_gather_call(pg_database)
    with pg_database.session() as db:
        twilio_store.record_recording(db, CUT_OFF, CALL, "description", "completed", AT)
    store_file(pg_database, tmp_path, CUT_OFF)
    filed: list[ev.Event | None] = []
    filing = threading.Thread(target=lambda: filed.append(file(effects, CUT_OFF, draft=False)))
    with pg_database.session() as noting:
        twilio_store.note_downloaded(noting, CUT_OFF, CUT_OFF, AT)  # no ticket links it yet
        filing.start()
        wait_for_a_lock_wait(pg_database, filing)  # for this transaction to end
    filing.join()
    assert isinstance(filed[0], ev.TicketCreated)
    with pg_database.session(read_only=True) as db:
        ticket = db.scalars(select(Ticket)).one()
    assert transcriptions(pg_database) == [{"ticket_id": ticket.id, "recording_id": CUT_OFF}]


def wait_for_a_lock_wait(database: Database, filing: threading.Thread) -> None:
    """Until the filing waits for a row lock (or, were there none to wait for, is over)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while filing.is_alive():
        with database.session(read_only=True) as db:
            if db.scalar(waiting):
                return
        filing.join(timeout=0.01)
