"""The ports the core owns: small protocols that adapters at the edge implement.

The engine itself calls only the IntentMatcher (a pure function of text); the other ports
are used by the shell and the channels to carry out the engine's actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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


class SmsSender(Protocol):
    def send(self, to: str, body: str) -> str:
        """Send one SMS; returns the provider's message id."""
        ...


@dataclass(frozen=True)
class StoredRecording:
    id: str
    seconds: float


class RecordingStore(Protocol):
    def save_wav(self, call_id: str, kind: str, wav: bytes, at: datetime) -> StoredRecording:
        """Keep a WAV file of a call (a description, a message, the whole call)."""
        ...
