"""Recordings Twilio makes for us (DESIGN §4): a `<Dial record>` transfer, a gather-mode call
recorded after consent, a gather-mode description. Twilio posts each finished recording to a
signed callback (`voice.recording`, kept once per RecordingSid with its job); the job here
downloads it into the recording store, then deletes it at Twilio.

A Twilio recording is kept under its RecordingSid as its id in the store. That id is known
before the file is: a gather-mode description ends with `<Record action=…>`, whose request
comes before the recording can be downloaded (the recording callback, then this job, bring
it later). So the engine hears RecordingFinished with the RecordingSid as the recording's
id at once (`gather.recorded`), as a Media Stream's description is heard with the id it was
stored under, and the ticket it files links that id, without the caller waiting for the
download. The ticket's transcription is queued when the download is noted
(`ivr.storage.twilio.note_downloaded`, `ivr.storage.transcriptions`), never before.

The job is safe to run again at any point: a file already downloaded is found by its id
instead of being stored twice, and a recording Twilio no longer has is deleted already. A
download Twilio answers 404 before we kept the file is lost (so is a file that is not a
WAV): the row and each ticket that links the recording say so (`note_lost`) and the job
fails at once with that reason; other errors (5xx, the network) are retried by the worker
with backoff, and once its attempts are spent the recording is said to be lost the same
way (`recording_give_ups`). The file is fetched with the account's credentials from the
REST API's own address (`client.api.base_url`), never from a URL a request carried.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NoReturn

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ivr.clock import Clock, utc_now
from ivr.jobs import GiveUp, Handler, PermanentJobError
from ivr.recordings import BadRecording, Recordings
from ivr.storage.db import Database
from ivr.storage.models import Recording, TwilioRecording
from ivr.storage.twilio import DOWNLOAD_RECORDING, note_downloaded, note_lost
from webhooks.twilio_rest import timeouts

log = logging.getLogger(__name__)


def media_url(client: Client, recording_sid: str) -> str:
    """The recording's WAV file at the REST API the client talks to."""
    return (
        f"{client.api.base_url}/2010-04-01/Accounts/{client.account_sid}"
        f"/Recordings/{recording_sid}.wav"
    )


def fetch(client: Client, url: str) -> bytes | None:
    """GET `url` with the account's credentials and the client's timeouts; None when Twilio
    has no such file (404). Other errors raise, and the worker retries the job."""
    auth = (client.username or "", client.password or "")
    response = requests.get(url, auth=auth, timeout=timeouts(client), allow_redirects=False)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.content


def download(
    database: Database,
    client: Client,
    store: Recordings,
    recording_sid: str,
    now: datetime,
) -> None:
    """Keep one Twilio recording in the store and delete it at Twilio (idempotent)."""
    with database.session() as session:
        row = session.get(TwilioRecording, recording_sid)
        if row is None:
            raise PermanentJobError(f"no recording {recording_sid} was reported by Twilio")
        call_sid, kind, kept, deleted = row.call_sid, row.kind, row.recording_id, row.deleted_at
    if deleted is not None:
        return
    if kept is None:
        wav = fetch(client, media_url(client, recording_sid))
        if wav is None:
            problem = "Twilio has no such recording any more (404); it was never downloaded"
            _give_up(database, recording_sid, problem, now)
        kept = _keep_once(database, store, recording_sid, call_sid, kind, wav, now)
        with database.session() as session:
            note_downloaded(session, recording_sid, kept, now)
    try:
        client.recordings(recording_sid).delete()
    except TwilioRestException as error:
        if error.status != 404:
            raise
        log.info("recording %s was deleted at Twilio already", recording_sid)
    with database.session() as session:
        session.get_one(TwilioRecording, recording_sid).deleted_at = now


def _keep_once(
    database: Database,
    store: Recordings,
    recording_sid: str,
    call_sid: str,
    kind: str,
    wav: bytes,
    at: datetime,
) -> str:
    """The recording's id in the store (its RecordingSid), kept by this run or an earlier one."""
    with database.session() as session:
        if session.get(Recording, recording_sid) is not None:
            return recording_sid
    try:
        return store.save_wav(call_sid, kind, wav, at, recording_id=recording_sid).id
    except BadRecording as error:
        problem = f"Twilio sent something that is not a WAV file: {error}"
    _give_up(database, recording_sid, problem, at)


def _give_up(database: Database, recording_sid: str, problem: str, at: datetime) -> NoReturn:
    """Fail the job for good, with `problem` on the recording's row and on each ticket that
    links it (`ivr.storage.twilio.note_lost`), in one transaction."""
    with database.session() as session:
        note_lost(session, recording_sid, problem, at)
    raise PermanentJobError(f"recording {recording_sid}: {problem}")


def recording_handlers(
    database: Database,
    client: Client,
    store: Recordings,
    clock: Clock = utc_now,
) -> dict[str, Handler]:
    """The worker's "twilio.recording" job (payload `{"recording_sid": "RE…"}`)."""

    def run(payload: dict[str, Any]) -> None:
        download(database, client, store, str(payload["recording_sid"]), clock())

    return {DOWNLOAD_RECORDING: run}


def start_call_recording(client: Client, call_sid: str, callback: str) -> str:
    """Gather mode: ask Twilio to record the call from now on (after consent); it posts the
    finished recording to `callback`. The recording's sid."""
    recording = client.calls(call_sid).recordings.create(
        recording_status_callback=callback,
        recording_status_callback_event=["completed"],
        recording_channels="mono",
    )
    return str(recording.sid)


def recording_give_ups(database: Database, clock: Clock = utc_now) -> dict[str, GiveUp]:
    """When a download's attempts are spent (Twilio kept failing, or the worker stopped during
    the last), a recording not yet in the store is said to be lost, on its row and on each
    ticket that links it."""

    def give_up(payload: dict[str, Any], why: str) -> None:
        recording_sid = str(payload["recording_sid"])
        with database.session() as session:
            row = session.get(TwilioRecording, recording_sid)
            if row is not None and row.recording_id is None:
                note_lost(session, recording_sid, f"its download was given up ({why})", clock())

    return {DOWNLOAD_RECORDING: give_up}
