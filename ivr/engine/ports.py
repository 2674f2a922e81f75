"""The ports the core owns: small protocols that adapters at the edge implement.

The engine itself calls only the IntentMatcher (pure functions of text: the intent a caller
named, the digits a caller said, whatever the channel that heard it); the other ports
(the Recognizer among them) are used by the shell and the channels to carry out the
engine's actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ivr.engine.actions import Listen
from ivr.engine.events import Event


@dataclass(frozen=True)
class IntentMatch:
    intent: str
    confidence: float


class IntentMatcher(Protocol):
    def match(
        self, text: str, intents: Mapping[str, Sequence[str]], language: str
    ) -> IntentMatch | None:
        """The intent whose phrases best match `text`, or None when none does."""
        ...

    def digits(self, text: str, language: str) -> str:
        """The digits `text` says in `language`, every number one after the other
        ("douăzeci și cinci" → "25", "Trei." → "3", "two six" → "26"); "" for none."""
        ...


class SmsSender(Protocol):
    def send(self, to: str, body: str) -> str:
        """Send one SMS; returns the provider's message id."""
        ...


class OutboundCaller(Protocol):
    """Places the calls of a callback (DESIGN §9): the officer's leg first, then the
    citizen's. What comes of a call (answered, no answer, busy...) arrives later from the
    channel, by the call id returned here."""

    def call(self, to: str, *, callback_id: int, leg: str, attempt: int) -> str:
        """Start ringing `to` for `leg` ("officer" or "citizen"), attempt `attempt`; the
        channel's call id. The channel reports the call's statuses naming the attempt, so
        its id is known even when this request's answer is lost."""
        ...


@dataclass(frozen=True)
class StoredRecording:
    id: str
    seconds: float


class RecordingStore(Protocol):
    def save_wav(self, call_id: str, kind: str, wav: bytes, at: datetime) -> StoredRecording:
        """Keep a WAV file of a call (a description, a message, the whole call)."""
        ...


class Recognizer(Protocol):
    """One call's speech recogniser: audio in, SpeechStarted/SpeechRecognized/NoSpeech out.

    The channel starts a turn with each Listen, pushes the caller's audio (16-bit mono PCM at
    the line's rate) with the time at the end of each chunk, and calls `finish` when the audio
    ends. Between turns audio is ignored. The channel calls `close` when the call ends.
    """

    def listen(self, listen: Listen) -> None: ...

    def accept(self, pcm: bytes, at: datetime) -> list[Event]: ...

    def finish(self, at: datetime) -> list[Event]: ...

    def close(self) -> None:
        """The call is over (or this recogniser is replaced): free its decoder and its place
        among the process's live recognisers now, not whenever it is garbage collected."""
        ...
