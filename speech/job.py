"""The "speech.transcribe" job: a ticket's recorded description, transcribed in the background.

Free-form decoding costs ~40× a grammar (DESIGN §7), so it never runs during a call: filing
a ticket with a recording enqueues `{"ticket_id", "recording_id"}` (ivr/effects.py) and
`ivr worker` runs this handler, one job at a time, at a lower CPU priority (`os.nice`, once
per process) than the processes answering calls. The transcript (text, mean confidence and
each word's confidence and times) is stored on `Ticket.transcript`.

A ticket whose language has no installed model is not an error: the job ends with a note
on the ticket (`{"note": …}`) and is not retried. A ticket, recording or audio file that is
missing or unreadable fails the job at once (PermanentJobError): retrying cannot help.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ivr.effects import TRANSCRIBE
from ivr.jobs import PermanentJobError
from ivr.storage.db import Database
from ivr.storage.models import Recording, Ticket
from menus.registry import FlowRegistry
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
    database: Database, flows: FlowRegistry, models: ModelCache, recordings: Path
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The handler of "speech.transcribe" jobs; `recordings` is the recording store's root."""

    def run(payload: dict[str, Any]) -> None:
        ticket_id, recording_id = int(payload["ticket_id"]), str(payload["recording_id"])
        with database.session(read_only=True) as session:
            ticket = session.get(Ticket, ticket_id)
            recording = session.get(Recording, recording_id)
            if ticket is None or recording is None:
                missing = "ticket" if ticket is None else "recording"
                raise PermanentJobError(f"no {missing} for job payload {payload}")
            language, path = ticket.language, recordings / recording.path
            rate = recording_rate(recording.sample_rate)
        name = _model_name(flows, language)
        try:
            if name is None:
                raise ModelError(f"the flow has no speech model for {language!r}")
            model = models.get(name)
        except ModelError as error:
            note = f"not transcribed: {error}"
            log.warning("ticket %s: %s", ticket_id, note)
            _store(database, ticket_id, {"note": note, "language": language})
            return
        try:
            pcm = read_wav(path, rate)
        except AudioError as error:
            raise PermanentJobError(str(error)) from None
        _lower_priority()
        result = transcribe(model, pcm, rate)
        log.info("ticket %s transcribed (%s words)", ticket_id, len(result.words))
        _store(database, ticket_id, {**result.as_json(), "language": language, "model": name})

    return {TRANSCRIBE: run}


def _model_name(flows: FlowRegistry, language: str) -> str | None:
    languages = flows.current().flow.languages
    return languages[language].model if language in languages else None


def _store(database: Database, ticket_id: int, transcript: dict[str, Any]) -> None:
    with database.session() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.transcript = transcript


def recording_rate(sample_rate: int) -> int:
    """The rate to decode a recording at: the browser's 16 kHz kept, anything else as a phone."""
    return BROWSER_RATE if sample_rate >= BROWSER_RATE else PHONE_RATE
