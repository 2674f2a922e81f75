"""A gather-mode description reaches the ticket: the `<Record>` action (which comes before
Twilio has the file) tells the engine the recording's id, its RecordingSid; the recording
callback queues the download, which the worker runs with the real `twilio` client against a
local stand-in for Twilio's REST API; the download queues the transcription, however long it
took, and real Vosk transcribes it. A caller who hangs up during `<Record>` gets the
description onto the draft ticket whatever order Twilio's three requests come in. A
description that will never come (Twilio reports it failed or absent, or no longer has it)
is said so on its ticket's page."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from gather_calls import GatherCall
from hand_clock import Clock
from spoken_korean import said
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.rest import Client
from twilio_rest_standin import (
    ACCOUNT,
    TwilioStandIn,
    a_wav,
    running_standin,
)
from twilio_signing import Twilio, gather_flow

from ivr.bootstrap import shared_models
from ivr.config import Settings
from ivr.jobs import Handler, PermanentJobError, Worker
from ivr.recordings import Recordings
from ivr.storage.db import Database
from ivr.storage.directory import add_user
from ivr.storage.models import Job, Recording, Ticket, TicketNote, TwilioRecording
from ivr.storage.transcriptions import NOTE_AUTHOR, TRANSCRIBE, TRANSCRIBE_ATTEMPTS
from ivr.storage.twilio import DOWNLOAD_RECORDING
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
def twilio_api() -> Iterator[TwilioStandIn]:
    with running_standin() as server:
        yield server


@pytest.fixture
def client(app: Flask, twilio_api: TwilioStandIn) -> Client:
    """The real client against the stand-in, also the one the webhooks use."""
    client = twilio_api.client()
    app.extensions["civicline.twilio"].extensions[REST_CLIENT] = client
    return client


def spoken_description() -> bytes:
    """What Twilio recorded: the caller's description, as a WAV file at 8 kHz."""
    return wav_bytes(said(DESCRIPTION), PHONE_RATE)


def a_worker(app: Flask, settings: Settings, client: Client, clock: Clock) -> Worker:
    """`ivr worker`'s download and transcription jobs."""
    database: Database = app.extensions["civicline"].database
    recordings = settings.data_dir / "recordings"
    store = Recordings.local(database, recordings)
    handlers = recording_handlers(database, client, store, clock)
    flows = FlowRegistry(settings.flow_path)
    handlers |= transcription_handlers(database, flows, shared_models(), store.files)
    return Worker(database, handlers, worker_id="test", clock=clock)


def report_up_to_the_description(app: Flask, twilio: Twilio) -> GatherCall:
    """A report from a withheld number (no SMS to send) up to its description."""
    call = GatherCall(app, twilio, caller="")
    call.answer()  # the recording notice heard
    call.answer(Digits="1")  # report
    call.answer(Digits="3")  # district
    assert call.root.find("Record") is not None
    return call


def test_a_description_recorded_at_twilio_is_transcribed_however_slow_its_download(
    app: Flask,
    twilio: Twilio,
    settings: Settings,
    client: Client,
    twilio_api: TwilioStandIn,
) -> None:
    """The download fails more times than a transcription job may try: the transcription
    is queued by the download, so it is neither given up nor run twice."""
    database: Database = app.extensions["civicline"].database
    recording_sid, wav = "RE" + uuid.uuid4().hex, spoken_description()
    twilio_api.files[recording_sid] = wav
    twilio_api.failures = TRANSCRIBE_ATTEMPTS + 1
    call = report_up_to_the_description(app, twilio)
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording_sid}"
    call.answer(RecordingDuration="3", RecordingUrl=url)  # the fields Twilio documents
    call.answer(Digits="1")  # confirmed: filed before the file is at Twilio
    with database.session() as db:
        ticket = db.scalars(select(Ticket)).one()
        assert ticket.recording_id == recording_sid and db.get(Recording, recording_sid) is None
        assert transcriptions(db) == []  # nothing to transcribe yet

    assert report_description(twilio, call.sid, recording_sid) == 204
    clock = Clock()
    worker = a_worker(app, settings, client, clock)
    for _ in range(TRANSCRIBE_ATTEMPTS + 1):
        assert worker.run_once()  # Twilio answers 500: the download is retried later
        clock.now += timedelta(hours=1)
    with database.session() as db:
        assert transcriptions(db) == []
    assert worker.run_once()  # the download, which queues the transcription
    with database.session() as db:
        stored = db.get_one(Recording, recording_sid)
        assert (stored.call_id, stored.kind) == (call.sid, "description")
        assert db.get_one(TwilioRecording, recording_sid).deleted_at is not None
        assert [job.payload for job in transcriptions(db)] == [
            {"ticket_id": ticket.id, "recording_id": recording_sid}
        ]
    assert (settings.data_dir / "recordings" / stored.path).read_bytes() == wav
    assert recording_sid not in twilio_api.files

    assert worker.run_once()  # the transcription, at its first attempt
    with database.session() as db:
        (job,) = transcriptions(db)
        transcript = db.get_one(Ticket, ticket.id).transcript
    assert (job.status, job.attempts) == ("done", 1), job.last_error
    assert transcript is not None and transcript["text"].split()[0] == "나무가"
    assert not worker.run_once()
    assert notes_on(database, ticket.id) == []  # nothing lost, nothing to say


def test_a_recording_twilio_failed_is_never_waited_for(
    app: Flask, twilio: Twilio, settings: Settings, client: Client
) -> None:
    """The RecordingSid posted as such; Twilio then reports the recording failed: nothing
    is downloaded, so no transcription is queued to wait for it."""
    database: Database = app.extensions["civicline"].database
    recording_sid = "RE" + uuid.uuid4().hex
    call = report_up_to_the_description(app, twilio)
    call.answer(RecordingDuration="4", RecordingSid=recording_sid, RecordingUrl="garbage")
    call.answer(Digits="1")
    form = {"CallSid": call.sid, "RecordingSid": recording_sid, "RecordingStatus": "failed"}
    assert twilio.post("/twilio/recording?kind=description", form).status_code == 204
    assert twilio.post("/twilio/recording?kind=description", form).status_code == 204  # again
    with database.session() as db:
        ticket = db.scalars(select(Ticket)).one()
        assert ticket.recording_id == recording_sid
        assert transcriptions(db) == []
        assert db.query(Job).filter_by(kind=DOWNLOAD_RECORDING).count() == 0
    failed = "the recording failed at Twilio (RecordingStatus failed)"
    assert ticket.transcript == {"note": f"not transcribed: {failed}", "language": "ko"}
    assert notes_on(database, ticket.id) == [f"{LOST}: {failed}"]  # once
    assert f"{LOST}: {failed}" in ticket_page(app, database, ticket.ref)


def test_a_description_twilio_reported_absent_before_the_filing_is_noted_by_the_filing(
    app: Flask, twilio: Twilio, settings: Settings, client: Client
) -> None:
    """The recording callback (absent) comes while the caller is still confirming: the
    ticket filed then links a recording already lost, and says so."""
    database: Database = app.extensions["civicline"].database
    recording_sid = "RE" + uuid.uuid4().hex
    call = report_up_to_the_description(app, twilio)
    call.answer(RecordingDuration="4", RecordingSid=recording_sid)
    form = {"CallSid": call.sid, "RecordingSid": recording_sid, "RecordingStatus": "absent"}
    assert twilio.post("/twilio/recording?kind=description", form).status_code == 204
    call.answer(Digits="1")  # confirmed
    with database.session() as db:
        ticket = db.scalars(select(Ticket)).one()
    absent = "Twilio has no audio for the recording (RecordingStatus absent)"
    assert (ticket.recording_id, ticket.transcript) == (
        recording_sid,
        {"note": f"not transcribed: {absent}", "language": "ko"},
    )
    assert notes_on(database, ticket.id) == [f"{LOST}: {absent}"]


def test_a_description_twilio_no_longer_has_is_noted_on_its_ticket(
    app: Flask, twilio: Twilio, settings: Settings, client: Client, twilio_api: TwilioStandIn
) -> None:
    """The download answers 404 (Twilio lost the file): the job fails at once and, in the
    same transaction as the recording's row, the ticket says why; run again, once only."""
    database: Database = app.extensions["civicline"].database
    recording_sid = "RE" + uuid.uuid4().hex  # no file at the stand-in
    call = report_up_to_the_description(app, twilio)
    call.answer(RecordingDuration="4", RecordingSid=recording_sid)
    call.answer(Digits="1")
    assert report_description(twilio, call.sid, recording_sid) == 204
    worker = a_worker(app, settings, client, Clock())
    assert worker.run_once()
    with pytest.raises(PermanentJobError, match="404"):
        downloader(app, settings, client)({"recording_sid": recording_sid})  # run again
    gone = "Twilio has no such recording any more (404); it was never downloaded"
    with database.session() as db:
        job = db.scalars(select(Job).where(Job.kind == DOWNLOAD_RECORDING)).one()
        assert job.status == "failed" and "404" in str(job.last_error)
        assert db.get_one(TwilioRecording, recording_sid).problem == gone
        ticket = db.scalars(select(Ticket)).one()
        assert transcriptions(db) == []
    assert ticket.transcript == {"note": f"not transcribed: {gone}", "language": "ko"}
    assert notes_on(database, ticket.id) == [f"{LOST}: {gone}"]
    assert gone in ticket_page(app, database, ticket.ref)


HANG_UP_ORDERS = [
    *(
        (*requests, "download")
        for requests in itertools.permutations(("recorded", "status", "callback"))
    ),
    ("callback", "download", "status", "recorded"),  # the draft is filed after the download
    ("recorded", "callback", "download", "status"),
]


@pytest.mark.parametrize("order", HANG_UP_ORDERS, ids="-".join)
def test_a_hang_up_during_the_description_keeps_it_on_the_draft_in_any_order(
    app: Flask,
    twilio: Twilio,
    settings: Settings,
    client: Client,
    twilio_api: TwilioStandIn,
    order: tuple[str, ...],
) -> None:
    """The caller hangs up while recording: Twilio posts the `<Record>` action, the call's
    final status and the recording callback in any order, and the worker downloads the file
    once its callback came. The draft ticket links the description, whose transcription is
    queued once, by whichever of the link and the download came second."""
    database: Database = app.extensions["civicline"].database
    recording_sid = "RE" + uuid.uuid4().hex
    twilio_api.files[recording_sid] = a_wav(1.0)
    call = report_up_to_the_description(app, twilio)
    download = downloader(app, settings, client)
    for step in order:
        match step:
            case "recorded":
                call.answer(RecordingDuration="3", RecordingSid=recording_sid)
            case "status":
                assert hang_up(twilio, call.sid) == 204
            case "callback":
                assert report_description(twilio, call.sid, recording_sid) == 204
            case "download":
                download({"recording_sid": recording_sid})
    assert report_description(twilio, call.sid, recording_sid) == 204  # Twilio retries
    download({"recording_sid": recording_sid})  # the job run again
    with database.session() as db:
        ticket = db.scalars(select(Ticket)).one()
        assert (ticket.draft, ticket.recording_id) == (True, recording_sid)
        assert [job.payload for job in transcriptions(db)] == [
            {"ticket_id": ticket.id, "recording_id": recording_sid}
        ]


def test_a_hung_up_draft_takes_only_the_description_the_engine_never_heard(
    app: Flask, twilio: Twilio, settings: Settings, client: Client, twilio_api: TwilioStandIn
) -> None:
    """A first description, too short, was heard and refused; the caller hangs up during
    the second and the status comes first: the draft gets the second, and a later unheard
    recording never replaces it."""
    database: Database = app.extensions["civicline"].database
    refused, cut_off, later = ("RE" + uuid.uuid4().hex for _ in range(3))
    call = report_up_to_the_description(app, twilio)
    call.answer(RecordingDuration="0", RecordingSid=refused)
    assert call.root.find("Record") is not None  # asked again
    assert hang_up(twilio, call.sid) == 204
    with database.session() as db:
        draft = db.scalars(select(Ticket)).one()
        assert (draft.draft, draft.recording_id) == (True, None)
    for recording_sid in (refused, cut_off, later):
        twilio_api.files[recording_sid] = a_wav()
        assert report_description(twilio, call.sid, recording_sid) == 204
    with database.session() as db:
        assert db.get_one(Ticket, draft.id).recording_id == cut_off
    download = downloader(app, settings, client)
    for recording_sid in (refused, cut_off, later):
        download({"recording_sid": recording_sid})
    with database.session() as db:
        assert [job.payload for job in transcriptions(db)] == [
            {"ticket_id": draft.id, "recording_id": cut_off}
        ]


LOST = "The recorded description will not be transcribed"


def notes_on(database: Database, ticket_id: int) -> list[str]:
    """The notes civicline wrote on the ticket."""
    with database.session(read_only=True) as db:
        of_ticket = select(TicketNote).where(TicketNote.ticket_id == ticket_id)
        return [note.body for note in db.scalars(of_ticket) if note.author == NOTE_AUTHOR]


def ticket_page(app: Flask, database: Database, ref: str) -> str:
    """The ticket's page as a supervisor signed in through the form reads it."""
    with database.session() as db:
        add_user(db, "ana", "correct horse", "supervisor")
    site = app.test_client()
    login = site.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    start = login.index(marker) + len(marker)
    token = login[start : login.index('"', start)]
    form = {"username": "ana", "password": "correct horse", "csrf_token": token}
    assert site.post("/login", data=form).status_code == 302
    page = site.get(f"/tickets/{ref}")
    assert page.status_code == 200
    return str(page.get_data(as_text=True))


def transcriptions(db: Session) -> list[Job]:
    return list(db.scalars(select(Job).where(Job.kind == TRANSCRIBE).order_by(Job.id)))


def report_description(twilio: Twilio, call_sid: str, recording_sid: str) -> int:
    """Twilio's recording status callback for a description: the file is ready."""
    form = {"CallSid": call_sid, "RecordingSid": recording_sid, "RecordingStatus": "completed"}
    return int(twilio.post("/twilio/recording?kind=description", form).status_code)


def hang_up(twilio: Twilio, call_sid: str) -> int:
    """The call's final status callback: the caller hung up."""
    form = {"CallSid": call_sid, "CallStatus": "completed", "SequenceNumber": "9"}
    return int(twilio.post("/twilio/status", form).status_code)


def downloader(app: Flask, settings: Settings, client: Client) -> Handler:
    """The worker's download job, run by hand."""
    database: Database = app.extensions["civicline"].database
    store = Recordings.local(database, settings.data_dir / "recordings")
    return recording_handlers(database, client, store)[DOWNLOAD_RECORDING]
