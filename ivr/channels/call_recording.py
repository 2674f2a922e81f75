"""The whole-call recording of a stream (the consent contract): from StartCallRecording to the
stream's end, the caller's audio and the prompts sent to them, mixed into one mono WAV.

The caller's audio is the timeline: it arrives in real time, 20 ms a message. Prompts arrive
at Twilio faster than they play, so each is placed where it starts playing: after the prompts
queued before it, and not before the moment it was sent. A `clear` (barge-in) drops what was
queued beyond the present, as Twilio does. Pure: bytes in, WAV bytes out.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field

import numpy as np

from speech.audio import SAMPLE_WIDTH


@dataclass
class CallRecorder:
    rate: int
    caller: bytearray = field(default_factory=bytearray)
    prompts: bytearray = field(default_factory=bytearray)
    """Prompt audio on the caller's timeline (silence between prompts)."""

    @property
    def seconds(self) -> float:
        return len(self.caller) / (self.rate * SAMPLE_WIDTH)

    def heard(self, pcm: bytes) -> None:
        """16-bit PCM from the caller, in the order it arrived."""
        self.caller += pcm

    def said(self, pcm: bytes) -> None:
        """A prompt sent now: it plays after what is queued, from now at the earliest."""
        if len(self.prompts) < len(self.caller):
            self.prompts += bytes(len(self.caller) - len(self.prompts))
        self.prompts += pcm

    def cleared(self) -> None:
        """The caller barged in: what had not played yet never will."""
        del self.prompts[len(self.caller) :]

    def wav(self) -> bytes:
        """Both directions mixed (saturating), as long as the caller's audio."""
        caller = np.frombuffer(bytes(self.caller), dtype="<i2").astype(np.int32)
        played = np.zeros_like(caller)
        prompts = np.frombuffer(bytes(self.prompts[: len(self.caller)]), dtype="<i2")
        played[: len(prompts)] = prompts
        mixed = np.clip(caller + played, -32768, 32767).astype("<i2")
        out = io.BytesIO()
        with wave.open(out, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(SAMPLE_WIDTH)
            writer.setframerate(self.rate)
            writer.writeframes(mixed.tobytes())
        return out.getvalue()
