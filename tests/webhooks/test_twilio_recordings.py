"""Recordings Twilio makes for us: `<Dial record>` only after consent, the signed recording
callback (once per RecordingSid), and the worker's job that downloads the file with the real
`twilio` client's credentials from a local stand-in for Twilio's REST API, stores it, then
deletes it there; retried with backoff, a 404 failed at once with its reason."""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from hand_clock import Clock
from twilio.rest import Client
from twilio_rest_standin import (
    ACCOUNT,
    TwilioStandIn,
    a_wav,
    running_standin,
)
from twilio_signing import AUTH_TOKEN, Twilio, call_at_main, gather_flow, new_call_sid

from ivr.config import Settings
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.jobs import Worker
from ivr.recordings import Recordings
from ivr.storage.db import Database
from ivr.storage.models import Job, Recording, TwilioRecording
from ivr.web import create_app
from webhooks.recordings import recording_handlers
from webhooks.voice import REST_CLIENT

IN_OFFICE_HOURS = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Sofia


@pytest.fixture
def twilio_api() -> Iterator[TwilioStandIn]:
    with running_standin() as server:
        yield server


@pytest.fixture
def client(twilio_api: TwilioStandIn) -> Client:
    return twilio_api.client()


def database_of(app: Flask) -> Database:
    database: Database = app.extensions["civicline"].database
    return database


def worker(app: Flask, client: Client, tmp_path: Path, clock: Clock) -> Worker:
    store = Recordings.local(database_of(app), tmp_path / "recordings")
    handlers = recording_handlers(database_of(app), client, store, clock)
    return Worker(database_of(app), handlers, worker_id="test", clock=clock)


def report_recording(twilio: Twilio, sid: str, recording_sid: str, kind: str = "call") -> int:
    form = {"CallSid": sid, "RecordingSid": recording_sid, "RecordingStatus": "completed"}
    form["RecordingUrl"] = "https://evil.example/steal"  # never fetched: we build the URL
    return int(twilio.post(f"/twilio/recording?kind={kind}", form).status_code)


def new_recording_sid() -> str:
    return "RE" + uuid.uuid4().hex


def dial_after(app: Flask, twilio: Twilio, *, decline: bool) -> ET.Element:
    sid, runner = call_at_main(app, twilio, decline=decline)
    actions = runner.feed(ev.DigitsPressed(at=IN_OFFICE_HOURS, digits="0"))
    assert any(isinstance(a, act.Transfer) for a in actions)
    dial = ET.fromstring(twilio.post("/twilio/next", {"CallSid": sid}).data).find("Dial")
    assert dial is not None
    return dial


def test_a_transfer_is_recorded_at_twilio_only_after_consent(app: Flask, twilio: Twilio) -> None:
    consented = dial_after(app, twilio, decline=False)
    assert consented.get("record") == "record-from-answer"
    callback = "https://city.example/twilio/recording?kind=call"
    assert consented.get("recordingStatusCallback") == callback
    declined = dial_after(app, twilio, decline=True)
    assert declined.get("record") is None and declined.get("recordingStatusCallback") is None


def test_a_recording_callback_is_kept_once_with_one_job(app: Flask, twilio: Twilio) -> None:
    sid, _runner = call_at_main(app, twilio)
    recording_sid = new_recording_sid()
    assert report_recording(twilio, sid, recording_sid) == 204
    assert report_recording(twilio, sid, recording_sid) == 204
    with database_of(app).session() as db:
        assert db.query(TwilioRecording).count() == 1
        assert db.query(Job).filter_by(kind="twilio.recording").count() == 1
    form = {"CallSid": sid, "RecordingSid": new_recording_sid()}
    assert twilio.post("/twilio/recording?kind=call", form, signed=False).status_code == 403
    assert twilio.post("/twilio/recording?kind=music", form).status_code == 400
    assert (
        twilio.post("/twilio/recording?kind=call", {**form, "RecordingSid": "x"}).status_code == 400
    )
    assert report_recording(twilio, new_call_sid(), new_recording_sid()) == 404


def test_the_worker_downloads_stores_and_deletes_a_recording_retrying_errors(
    app: Flask, twilio: Twilio, client: Client, twilio_api: TwilioStandIn, tmp_path: Path
) -> None:
    sid, _runner = call_at_main(app, twilio)
    recording_sid, wav = new_recording_sid(), a_wav(0.5)
    twilio_api.files[recording_sid] = wav
    twilio_api.failures = 1
    assert report_recording(twilio, sid, recording_sid) == 204
    clock = Clock()
    jobs = worker(app, client, tmp_path, clock)
    assert jobs.run_once()  # a 500 from Twilio: retried later
    with database_of(app).session() as db:
        job = db.query(Job).filter_by(kind="twilio.recording").one()
        assert (job.status, job.attempts) == ("queued", 1) and job.run_after > clock.now
    clock.now += timedelta(hours=1)
    assert jobs.run_once()
    with database_of(app).session() as db:
        row = db.get_one(TwilioRecording, recording_sid)
        assert row.downloaded_at is not None and row.deleted_at is not None
        stored = db.get_one(Recording, row.recording_id)
        assert (stored.call_id, stored.kind, stored.seconds) == (sid, "call", 0.5)
        assert stored.sha256 == hashlib.sha256(wav).hexdigest()
        assert db.query(Job).filter_by(kind="twilio.recording").one().status == "done"
    assert (tmp_path / "recordings" / stored.path).read_bytes() == wav
    assert recording_sid not in twilio_api.files
    assert all("evil" not in path for _, path in twilio_api.requests)


def test_a_download_run_again_keeps_one_recording(
    app: Flask, twilio: Twilio, client: Client, twilio_api: TwilioStandIn, tmp_path: Path
) -> None:
    """A worker that died after storing the file but before noting it downloads it again
    and finds the file it kept, by its id (the RecordingSid)."""
    sid, _runner = call_at_main(app, twilio)
    recording_sid = new_recording_sid()
    twilio_api.files[recording_sid] = a_wav()
    report_recording(twilio, sid, recording_sid)
    store = Recordings.local(database_of(app), tmp_path / "recordings")
    download = recording_handlers(database_of(app), client, store)["twilio.recording"]
    earlier = store.save_wav(sid, "call", a_wav(), datetime.now(UTC), recording_id=recording_sid)
    download({"recording_sid": recording_sid})
    download({"recording_sid": recording_sid})
    with database_of(app).session() as db:
        assert db.query(Recording).filter_by(call_id=sid).count() == 1
        assert db.get_one(TwilioRecording, recording_sid).recording_id == earlier.id
    assert [method for method, _ in twilio_api.requests] == ["GET", "DELETE"]


def test_a_recording_twilio_no_longer_has_fails_at_once_with_its_reason(
    app: Flask, twilio: Twilio, client: Client, twilio_api: TwilioStandIn, tmp_path: Path
) -> None:
    sid, _runner = call_at_main(app, twilio)
    recording_sid = new_recording_sid()
    report_recording(twilio, sid, recording_sid)
    assert worker(app, client, tmp_path, Clock()).run_once()
    with database_of(app).session() as db:
        job = db.query(Job).filter_by(kind="twilio.recording").one()
        assert job.status == "failed" and "404" in str(job.last_error)
        assert "never downloaded" in str(db.get_one(TwilioRecording, recording_sid).problem)
        assert db.query(Recording).filter_by(call_id=sid).count() == 0


def test_gather_mode_asks_twilio_to_record_the_call_after_consent(
    settings: Settings, tmp_path: Path, client: Client, twilio_api: TwilioStandIn
) -> None:
    settings.flow_path = gather_flow(tmp_path)
    app = create_app(settings)
    app.extensions["civicline.twilio"].extensions[REST_CLIENT] = client
    twilio = Twilio(app.test_client())
    sid = new_call_sid()
    notice = ET.fromstring(twilio.post("/twilio/voice", {"CallSid": sid}).data).find("Gather")
    assert notice is not None and not twilio_api.started
    twilio.post(str(notice.get("action")).removeprefix("https://city.example"), {"CallSid": sid})
    assert [path for _, path in twilio_api.requests] == [
        f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}/Recordings.json"
    ]
    started = twilio_api.started[0]
    assert started["RecordingStatusCallback"] == "https://city.example/twilio/recording?kind=call"


def test_the_worker_downloads_recordings_only_with_twilio_credentials(
    app: Flask, tmp_path: Path
) -> None:
    from ivr.bootstrap import twilio_recording_handlers

    with_credentials = Settings(
        data_dir=tmp_path, twilio_account_sid=ACCOUNT, twilio_auth_token=AUTH_TOKEN
    )
    assert set(twilio_recording_handlers(with_credentials, database_of(app))) == {
        "twilio.recording"
    }
    assert twilio_recording_handlers(Settings(data_dir=tmp_path), database_of(app)) == {}
