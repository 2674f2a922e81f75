"""What a conformance call does and reads back, whatever the channel.

A `Phone` is one caller on one channel, driven as a phone is: silence as long as asked (line
time), keys one at a time, a voice, a hang-up. Where a call is, and what it did, is read
from what the line stored: the same rows on every channel.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pytest

from ivr.calls.runner import CallServices
from ivr.engine import actions as act
from ivr.storage import calls as stored_calls
from ivr.storage.db import Database
from ivr.storage.models import Call
from speech.audio import PHONE_RATE, read_wav, seconds
from speech.prompts import PromptLibrary

STEP_SECONDS = 0.1
"""Line time a caller waits between two looks at where the call is."""


class Phone(Protocol):
    @property
    def services(self) -> CallServices:
        """The services of the process that answered the call (its database among them)."""
        ...

    @property
    def database(self) -> Database: ...

    @property
    def timing(self) -> Timing:
        """How the channel keeps time (what its stored times can be checked against)."""
        ...

    @property
    def call_id(self) -> str:
        """The call's id in the database (known once the call was answered)."""
        ...

    def silence(self, seconds: float) -> None:
        """Stay silent on the line for `seconds` of line time."""
        ...

    def listen(self) -> None:
        """Stay silent until every prompt sent so far has played (as the phone hears it)."""
        ...

    def press(self, keys: str, gap: float = 0.3) -> None:
        """Keys one at a time, `gap` seconds of silence after each."""
        ...

    def speak(self, pcm: bytes) -> None:
        """Say `pcm` (16-bit mono at 8 kHz) into the line, at the line's pace."""
        ...

    def hang_up(self) -> None:
        """Hang up (nothing when the line already hung up)."""
        ...


CHANNELS = ["terminal", "twilio", "gather", "sip", "browser"]
"""Every channel a conformance call runs on (`phone_on` gives a phone on each in turn)."""
PhoneFactory = Callable[..., AbstractContextManager[Phone]]
"""`with phone_on(caller=…, transfer=…) as phone`: a call on one channel."""


@dataclass(frozen=True)
class Timing:
    line_clock: bool
    """Stored times are the line's: the server keeps time by the caller's audio (a Media
    Stream) or its own clock (SIP, the terminal). False in gather mode, where Twilio plays
    the prompts and times the silences, and the server only sees its webhooks."""
    prompt_seconds: Callable[[Row], float]
    """How long a stored Say takes to play on this channel."""


@dataclass(frozen=True)
class Row:
    kind: str
    type: str
    payload: dict[str, Any]
    at: datetime


def rows_of(database: Database, call_id: str) -> list[Row]:
    with database.session() as db:
        return [
            Row(r.kind, r.type, dict(r.payload), r.at)
            for r in stored_calls.call_events(db, call_id)
        ]


def call_of(database: Database, call_id: str) -> Call:
    with database.session() as db:
        found = db.get(Call, call_id)
        assert found is not None, f"no call {call_id}"
        db.expunge(found)
        return found


def mark_of(rows: list[Row], prompt: str) -> str | None:
    """The mark of the last Say of `prompt` (None when it was never said)."""
    marks = [r.payload["mark"] for r in rows if r.type == "Say" and r.payload["prompt"] == prompt]
    return marks[-1] if marks else None


def finished(rows: list[Row], mark: object) -> Row | None:
    """The PromptFinished of `mark`, when that prompt has played."""
    return next((r for r in rows if r.type == "PromptFinished" and r.payload["mark"] == mark), None)


def until(phone: Phone, prompt: str, *, played: bool = False, limit: float = 60.0) -> None:
    """Stay silent until the line has sent `prompt` (and, `played`, until it has played)."""
    waited = 0.0
    while mark_of(rows := rows_of(phone.database, phone.call_id), prompt) is None:
        if waited >= limit:
            pytest.fail(f"the call never said {prompt}; it stored:\n{told(rows)}")
        phone.silence(STEP_SECONDS)
        waited += STEP_SECONDS
    if played:
        phone.listen()


def until_ended(phone: Phone, limit: float = 60.0) -> Call:
    """Stay on the line until the call has ended; the call."""
    waited = 0.0
    while waited < limit:
        found = call_of(phone.database, phone.call_id)
        if found.ended_at is not None:
            return found
        phone.silence(STEP_SECONDS)
        waited += STEP_SECONDS
    pytest.fail("the call never ended")


def built_prompt_seconds(prompts: PromptLibrary, rate: int = PHONE_RATE) -> Callable[[Row], float]:
    """A stored Say's length as the built prompt files play it at the channel's `rate` (the
    same at any rate, but for the resampler's rounding of a sample or so)."""

    def length(row: Row) -> float:
        payload = {k: v for k, v in row.payload.items() if k != "secret"}
        say = act.Say(**payload)
        return sum(seconds(read_wav(path, rate), rate) for path in prompts.compose(say))

    return length


def told(rows: list[Row]) -> str:
    """The stored rows, one a line, as a failure shows them."""
    return "\n".join(f"{r.at:%H:%M:%S.%f} {r.kind} {r.type} {r.payload}" for r in rows)
