"""The Media Streams codec (DESIGN §8): Twilio's WebSocket messages ↔ typed values, purely.

Inbound, `StreamDecoder.decode` turns one text message into a typed value: `Connected`,
`Started` (stream and call ids, custom parameters, the media format), `Audio` (16-bit
little-endian mono PCM at the stream's rate), `KeyPressed`, `MarkReached` or `Stopped`.
Anything it cannot use (bad JSON, an unknown event, garbage in `media.payload`, media before
`start`, a replayed or out-of-order sequence number) becomes a `StreamError`: the edge logs
it and carries on; nothing here raises for a peer's mistake. `to_event` turns the values the
engine cares about into engine events at a time the edge gives.

Outbound, `StreamEncoder` turns prompt audio into `media` messages in the stream's format,
each a whole number of 20 ms frames and at most `PROMPT_CHUNK_FRAMES` of them, followed by a
`mark` named after the Say, and a barge-in into `clear`. Twilio queues the audio sent on a
bidirectional stream and plays it in order, whatever the messages' size (its documentation
sets none; its own OpenAI Realtime sample forwards audio deltas of any length), and `clear`
empties that queue; so a prompt goes out as a few large messages rather than 50 a second:
each message's JSON, base64 and WebSocket framing is paid on the server's core.

Formats come from `start.mediaFormat`: `audio/x-mulaw` at 8 kHz (Twilio) and `audio/l16`
(the browser phone, 16 kHz; big-endian samples as RFC 3551 defines L16). This module owns no
socket, no clock and no Flask: bytes of JSON in, values out; values in, JSON text out.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.engine import events as ev
from speech.audio import SAMPLE_WIDTH, pcm_to_ulaw, ulaw_to_pcm

MULAW = "audio/x-mulaw"
L16 = "audio/l16"
ENCODINGS = (MULAW, L16)
FRAME_SECONDS = 0.02
PROMPT_CHUNK_FRAMES = 50
"""The most 20 ms frames one outbound `media` message carries (1 s)."""
DTMF_KEYS = frozenset("0123456789*#")
TOKEN_PARAMETER = "token"
"""The `start.customParameters` entry carrying the one-time token a stream is served on."""


@dataclass(frozen=True)
class MediaFormat:
    encoding: str
    sample_rate: int
    channels: int = 1

    @property
    def frame_bytes(self) -> int:
        """Bytes of one 20 ms frame on the wire."""
        samples = round(FRAME_SECONDS * self.sample_rate)
        return samples if self.encoding == MULAW else samples * SAMPLE_WIDTH

    def to_pcm(self, wire: bytes) -> bytes:
        if self.encoding == MULAW:
            return ulaw_to_pcm(wire)
        return _swap_bytes(wire)

    def from_pcm(self, pcm: bytes) -> bytes:
        if self.encoding == MULAW:
            return pcm_to_ulaw(pcm)
        return _swap_bytes(pcm)


@dataclass(frozen=True)
class Connected:
    protocol: str


@dataclass(frozen=True)
class Started:
    stream_sid: str
    call_sid: str
    media_format: MediaFormat
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Audio:
    pcm: bytes
    """16-bit little-endian mono PCM at the stream's sample rate."""
    track: str
    timestamp_ms: int | None


@dataclass(frozen=True)
class KeyPressed:
    digit: str


@dataclass(frozen=True)
class MarkReached:
    name: str


@dataclass(frozen=True)
class Stopped:
    pass


@dataclass(frozen=True)
class StreamError:
    """A message the decoder could not use, and why; the stream carries on."""

    reason: str


Inbound = Connected | Started | Audio | KeyPressed | MarkReached | Stopped


@dataclass
class StreamDecoder:
    """One stream's inbound state: started or not, its format, the last sequence number."""

    started: Started | None = None
    stopped: bool = False
    last_sequence: int = 0

    def decode(self, text: str | bytes) -> Inbound | StreamError:
        try:
            message = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            return StreamError("not JSON")
        if not isinstance(message, dict):
            return StreamError("not a JSON object")
        kind = message.get("event")
        if kind == "connected":
            return Connected(str(message.get("protocol", "")))
        if self.stopped:
            return StreamError(f"{kind!r} after stop")
        error = self._check_sequence(message.get("sequenceNumber"))
        if error is not None:
            return error
        if kind == "start":
            return self._start(message.get("start"), message.get("streamSid"))
        if kind not in ("media", "dtmf", "mark", "stop"):
            return StreamError(f"unknown event {kind!r}")
        if self.started is None:
            return StreamError(f"{kind!r} before start")
        sid = message.get("streamSid")
        if sid is not None and sid != self.started.stream_sid:
            return StreamError(f"{kind!r} of another stream {sid!r}")
        if kind == "media":
            return self._media(message.get("media"))
        if kind == "dtmf":
            return _dtmf(message.get("dtmf"))
        if kind == "mark":
            return _mark(message.get("mark"))
        self.stopped = True
        return Stopped()

    def _check_sequence(self, raw: Any) -> StreamError | None:
        if raw is None:
            return None
        try:
            number = int(raw)
        except (TypeError, ValueError):
            return StreamError(f"bad sequence number {raw!r}")
        if number <= self.last_sequence:
            return StreamError(f"sequence number {number} replayed or out of order")
        self.last_sequence = number
        return None

    def _start(self, start: Any, stream_sid: Any) -> Started | StreamError:
        if self.started is not None:
            return StreamError("a second start")
        if not isinstance(start, dict):
            return StreamError("start without its details")
        stream_sid = stream_sid or start.get("streamSid")
        call_sid = start.get("callSid")
        if not isinstance(stream_sid, str) or not stream_sid:
            return StreamError("start without a streamSid")
        media = _media_format(start.get("mediaFormat"))
        if isinstance(media, StreamError):
            return media
        raw_parameters = start.get("customParameters") or {}
        if not isinstance(raw_parameters, dict):
            return StreamError("customParameters is not an object")
        parameters = {str(k): str(v) for k, v in raw_parameters.items()}
        self.started = Started(stream_sid, str(call_sid or ""), media, parameters)
        return self.started

    def _media(self, media: Any) -> Audio | StreamError:
        assert self.started is not None
        if not isinstance(media, dict) or not isinstance(media.get("payload"), str):
            return StreamError("media without a payload")
        try:
            wire = base64.b64decode(media["payload"], validate=True)
        except (binascii.Error, ValueError):
            return StreamError("media payload is not base64")
        fmt = self.started.media_format
        if fmt.encoding == L16 and len(wire) % SAMPLE_WIDTH:
            return StreamError("L16 payload with an odd number of bytes")
        timestamp = media.get("timestamp")
        try:
            stamp = None if timestamp is None else int(timestamp)
        except (TypeError, ValueError):
            return StreamError(f"bad media timestamp {timestamp!r}")
        return Audio(fmt.to_pcm(wire), str(media.get("track", "inbound")), stamp)


def to_event(value: Inbound, at: datetime) -> ev.Event | None:
    """The engine event a decoded value stands for (keys, a finished prompt, a hang-up)."""
    match value:
        case KeyPressed(digit=digit):
            return ev.DigitsPressed(at=at, digits=digit)
        case MarkReached(name=name):
            return ev.PromptFinished(at=at, mark=name)
        case Stopped():
            return ev.CallerHungUp(at=at)
    return None


@dataclass(frozen=True)
class StreamEncoder:
    """Outbound messages of one stream, in the format its `start` announced."""

    stream_sid: str
    media_format: MediaFormat

    def prompt(self, pcm: bytes, mark: str) -> list[str]:
        """A prompt's audio (16-bit PCM at the stream's rate) as media messages of up to
        `PROMPT_CHUNK_FRAMES` 20 ms frames, then its mark; the audio is padded with silence
        to a whole frame."""
        wire = self.media_format.from_pcm(pcm)
        frame = self.media_format.frame_bytes
        pad = self.media_format.from_pcm(b"\0" * SAMPLE_WIDTH)
        wire += pad * ((-len(wire) % frame) // len(pad))
        size = frame * PROMPT_CHUNK_FRAMES
        messages = []
        for offset in range(0, len(wire), size):
            payload = base64.b64encode(wire[offset : offset + size]).decode("ascii")
            messages.append(self._message("media", {"media": {"payload": payload}}))
        messages.append(self.mark(mark))
        return messages

    def mark(self, name: str) -> str:
        return self._message("mark", {"mark": {"name": name}})

    def clear(self) -> str:
        """Stop the audio already sent (the caller barged in)."""
        return self._message("clear", {})

    def _message(self, event: str, body: dict[str, Any]) -> str:
        return json.dumps({"event": event, "streamSid": self.stream_sid, **body})


def _media_format(raw: Any) -> MediaFormat | StreamError:
    if not isinstance(raw, dict):
        return StreamError("start without a mediaFormat")
    encoding = str(raw.get("encoding", "")).lower()
    if encoding not in ENCODINGS:
        return StreamError(f"unsupported encoding {raw.get('encoding')!r}")
    try:
        rate, channels = int(raw.get("sampleRate", 0)), int(raw.get("channels", 1))
    except (TypeError, ValueError):
        return StreamError("bad sampleRate or channels")
    if rate not in (8000, 16000) or channels != 1:
        return StreamError(f"unsupported format: {rate} Hz, {channels} channels")
    return MediaFormat(encoding, rate, channels)


def _dtmf(raw: Any) -> KeyPressed | StreamError:
    digit = raw.get("digit") if isinstance(raw, dict) else None
    if not isinstance(digit, str) or len(digit) != 1 or digit not in DTMF_KEYS:
        return StreamError(f"not a DTMF key: {digit!r}")
    return KeyPressed(digit)


def _mark(raw: Any) -> MarkReached | StreamError:
    name = raw.get("name") if isinstance(raw, dict) else None
    if not isinstance(name, str) or not name:
        return StreamError("mark without a name")
    return MarkReached(name)


def _swap_bytes(samples: bytes) -> bytes:
    """16-bit samples between little-endian (ours) and big-endian (L16 on the wire)."""
    swapped = bytearray(samples)
    swapped[0::2], swapped[1::2] = samples[1::2], samples[0::2]
    return bytes(swapped)
