"""A gather-mode description reaches the ticket: the `<Record>` action (which comes before
Twilio has the file) tells the engine the recording's id, its RecordingSid; the recording
callback queues the download, which the worker runs with the real `twilio` client against a
local stand-in for Twilio's REST API; the ticket then links the downloaded file, and the
transcription job, retried while the file was still at Twilio, transcribes it with real Vosk."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from gather_calls import GatherCall
from spoken_korean import said
from sqlalchemy import select
from twilio.rest import Client
from twilio_recordings_api import ACCOUNT, Clock, StandIn, rest_client, running_recordings_api
from twilio_signing import Twilio, gather_flow

from ivr.bootstrap import shared_models
from ivr.config import Settings
from ivr.jobs import Worker
from ivr.recordings import LocalRecordingStore
from ivr.storage.db import Database
from ivr.storage.models import Job, Recording, Ticket, TwilioRecording
from menus.registry import FlowRegistry
from speech.audio import PHONE_RATE, wav_bytes
from speech.job import transcription_handlers
from webhooks.recordings import recording_handlers
from webhooks.voice import REST_CLIENT

DESCRIPTION = "나무가 쓰러졌습니다"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    settings.flow_path = gather_flow(tmp_path)
    return settings


@pytest.fixture
def twilio_api() -> Iterator[StandIn]:
    with running_recordings_api() as server:
        yield server


@pytest.fixture
def client(app: Flask, twilio_api: StandIn) -> Client:
    """The real client against the stand-in, also the one the webhooks use."""
    client = rest_client(twilio_api)
    app.extensions["civicline.twilio"].extensions[REST_CLIENT] = client
    return client


def spoken_description() -> bytes:
    """What Twilio recorded: the caller's description, as a WAV file at 8 kHz."""
    return wav_bytes(said(DESCRIPTION), PHONE_RATE)


def a_worker(app: Flask, settings: Settings, client: Client, clock: Clock) -> Worker:
    """`ivr worker`'s download and transcription jobs."""
    database: Database = app.extensions["civicline"].database
    recordings = settings.data_dir / "recordings"
    store = LocalRecordingStore(database, recordings)
    handlers = recording_handlers(database, client, store, clock)
    flows = FlowRegistry(settings.flow_path)
    handlers |= transcription_handlers(database, flows, shared_models(), recordings)
    return Worker(database, handlers, worker_id="test", clock=clock)


def report_up_to_the_description(app: Flask, twilio: Twilio) -> GatherCall:
    """A report from a withheld number (no SMS to send) up to its description."""
    call = GatherCall(app, twilio, caller="")
    call.answer()  # the recording notice heard
    call.answer(Digits="1")  # report
    call.answer(Digits="3")  # district
    assert call.root.find("Record") is not None
    return call


def test_a_description_recorded_at_twilio_is_the_tickets_recording_once_downloaded(
    app: Flask,
    twilio: Twilio,
    settings: Settings,
    client: Client,
    twilio_api: StandIn,
) -> None:
    database: Database = app.extensions["civicline"].database
    recording_sid, wav = "RE" + uuid.uuid4().hex, spoken_description()
    twilio_api.files[recording_sid] = wav
    call = report_up_to_the_description(app, twilio)
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording_sid}"
    call.answer(RecordingDuration="3", RecordingUrl=url)  # the fields Twilio documents
    call.answer(Digits="1")  # confirmed: filed before the file is at Twilio
    with database.session() as db:
        ticket = db.scalars(select(Ticket)).one()
        assert ticket.recording_id == recording_sid and db.get(Recording, recording_sid) is None

    clock = Clock()
    worker = a_worker(app, settings, client, clock)
    assert worker.run_once()  # the transcription: the file is still at Twilio
    with database.session() as db:
        job = db.scalars(select(Job).where(Job.kind == "speech.transcribe")).one()
        assert (job.status, job.attempts) == ("queued", 1) and job.run_after > clock.now
        assert "still at Twilio" in str(job.last_error)

    form = {"CallSid": call.sid, "RecordingSid": recording_sid, "RecordingStatus": "completed"}
    assert twilio.post("/twilio/recording?kind=description", form).status_code == 204
    clock.now = datetime.now(UTC)
    assert worker.run_once()  # the download (the transcription waits for its next attempt)
    with database.session() as db:
        stored = db.get_one(Recording, recording_sid)
        assert (stored.call_id, stored.kind) == (call.sid, "description")
        assert db.get_one(TwilioRecording, recording_sid).deleted_at is not None
    assert (settings.data_dir / "recordings" / stored.path).read_bytes() == wav
    assert recording_sid not in twilio_api.files

    clock.now += timedelta(hours=1)
    assert worker.run_once()  # the transcription again: the file is here
    with database.session() as db:
        job = db.get_one(Job, job.id)
        transcript = db.get_one(Ticket, ticket.id).transcript
    assert job.status == "done", job.last_error
    assert transcript is not None and transcript["text"].split()[0] == "나무가"
    assert not worker.run_once()


def test_a_recording_twilio_failed_ends_the_transcription_at_once(
    app: Flask, twilio: Twilio, settings: Settings, client: Client
) -> None:
    """The RecordingSid posted as such; Twilio then reports the recording failed: there is
    nothing to wait for."""
    database: Database = app.extensions["civicline"].database
    recording_sid = "RE" + uuid.uuid4().hex
    call = report_up_to_the_description(app, twilio)
    call.answer(RecordingDuration="4", RecordingSid=recording_sid, RecordingUrl="garbage")
    call.answer(Digits="1")
    form = {"CallSid": call.sid, "RecordingSid": recording_sid, "RecordingStatus": "failed"}
    assert twilio.post("/twilio/recording?kind=description", form).status_code == 204
    assert a_worker(app, settings, client, Clock()).run_once()
    with database.session() as db:
        assert db.scalars(select(Ticket.recording_id)).one() == recording_sid
        job = db.scalars(select(Job).where(Job.kind == "speech.transcribe")).one()
        assert job.status == "failed" and "no recording" in str(job.last_error)
        assert db.query(Job).filter_by(kind="twilio.recording").count() == 0
