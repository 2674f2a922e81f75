"""The "speech.transcribe" job: a ticket's recorded description (or a citizen's note said on
the phone, `note_id`), transcribed in the background.

Free-form decoding costs ~40× a grammar (DESIGN §7), so it never runs during a call: once a
ticket links a recording whose file is in the store, `{"ticket_id", "recording_id"}` is
enqueued (`ivr.storage.transcriptions`: by the filing, or by the download of a recording
Twilio made, whichever comes second) and `ivr worker` runs this handler, one job at a time,
at a lower CPU priority (`os.nice`, once per process) than the processes answering calls.
The transcript (text, mean confidence and each word's confidence and times) is stored on
`Ticket.transcript`. The model is the one the flow version of the ticket's call names (the
version stored with the call, DESIGN §3), not the flow loaded now: a description recorded
before a model change is heard by the model its call ran with. A ticket without a call
falls back to the current flow.

A ticket whose language has no installed model is not an error: the job ends with a note
on the ticket (`{"note": …}`) and is not retried. A ticket, recording or audio file that is
missing or unreadable fails the job at once (PermanentJobError): retrying cannot help (the
job is never queued before its file is here).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ivr.jobs import PermanentJobError
from ivr.recordings.files import RecordingFiles
from ivr.storage import calls
from ivr.storage.db import Database
from ivr.storage.models import Call, Recording, Ticket, TicketNote
from ivr.storage.transcriptions import TRANSCRIBE
from menus.loader import load_stored_flow
from menus.registry import FlowRegistry
from menus.schema import Flow
from speech.audio import BROWSER_RATE, PHONE_RATE, AudioError, read_wav
from speech.models import ModelCache, ModelError
from speech.transcript import transcribe

NICENESS = 10


log = logging.getLogger(__name__)


@functools.cache
def _lower_priority() -> None:
    """Yield the CPU to calls: raise this process's niceness once (a worker runs jobs only)."""
    os.nice(NICENESS)


def transcription_handlers(
    database: Database, flows: FlowRegistry, models: ModelCache, recordings: RecordingFiles
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The handler of "speech.transcribe" jobs; `recordings` holds the recordings' files."""

    def run(payload: dict[str, Any]) -> None:
        ticket_id, recording_id = int(payload["ticket_id"]), str(payload["recording_id"])
        note_id = payload.get("note_id")
        with database.session(read_only=True) as session:
            ticket = session.get(Ticket, ticket_id)
            recording = session.get(Recording, recording_id)
            if ticket is None or recording is None:
                missing = "ticket" if ticket is None else "recording"
                raise PermanentJobError(f"no {missing} for job payload {payload}")
            language, key = ticket.language, recording.path
            rate = recording_rate(recording.sample_rate)
            flow = _flow_of_call(session, flows, ticket.call_id)
        name = _model_name(flow, language)
        try:
            if name is None:
                raise ModelError(f"the flow has no speech model for {language!r}")
            model = models.get(name)
        except ModelError as error:
            note = f"not transcribed: {error}"
            log.warning("ticket %s: %s", ticket_id, note)
            _store(database, ticket_id, {"note": note, "language": language}, note_id)
            return
        wav = recordings.get(key)
        if wav is None:
            raise PermanentJobError(f"recording {recording_id}: its file {key} is missing")
        try:
            pcm = read_wav(wav, rate)
        except AudioError as error:
            raise PermanentJobError(str(error)) from None
        _lower_priority()
        result = transcribe(model, pcm, rate)
        log.info("ticket %s transcribed (%s words)", ticket_id, len(result.words))
        transcript = {**result.as_json(), "language": language, "model": name}
        _store(database, ticket_id, transcript, note_id)

    return {TRANSCRIBE: run}


def _flow_of_call(session: Session, flows: FlowRegistry, call_id: str | None) -> Flow:
    """The flow version `call_id` was stored with; the current flow when there is no call."""
    call = session.get(Call, call_id) if call_id is not None else None
    if call is None:
        return flows.current().flow
    loaded = flows.get(call.flow_version)
    if loaded is None:
        source = calls.flow_source(session, call.flow_version)
        if source is None:
            raise PermanentJobError(f"call {call_id}: flow version {call.flow_version} not stored")
        loaded = load_stored_flow(source, f"stored flow {call.flow_version[:12]}")
        flows.remember(loaded)
    return loaded.flow


def _model_name(flow: Flow, language: str) -> str | None:
    languages = flow.languages
    return languages[language].model if language in languages else None


def _store(
    database: Database, ticket_id: int, transcript: dict[str, Any], note_id: int | None
) -> None:
    """The transcript on the ticket, or, for a citizen's note said on the phone, as the
    note's text ("(…)" when no words were recognised or it could not be transcribed)."""
    with database.session() as session:
        if note_id is None:
            session.get_one(Ticket, ticket_id).transcript = transcript
            return
        note = session.get_one(TicketNote, int(note_id))
        note.body = transcript.get("text") or f"({transcript.get('note', 'no words recognised')})"


def recording_rate(sample_rate: int) -> int:
    """The rate to decode a recording at: the browser's 16 kHz kept, anything else as a phone."""
    return BROWSER_RATE if sample_rate >= BROWSER_RATE else PHONE_RATE
