"""The line of the faithful Twilio caller (`twilio_caller`): its media clock, what the caller
does in one moment, what a leg of the call owes the caller, and the transcript of the call.

Line time is a phone line's media clock: it moves 20 ms with each frame of the caller's audio
and with nothing else. A call may run `speed` times faster than real time, yet in the order a
real line gives: a key comes between two frames, a prompt's mark is due once the frames that
cover its playout have gone. Between two steps of a script the line stands still (the script
acts in no line time), so a slow test machine changes nothing the server can see.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from speech.audio import SAMPLE_WIDTH, pcm_to_ulaw, resample

FRAME_SECONDS = 0.02
FRAME_BYTES = 160
"""One 20 ms frame of μ-law at 8 kHz, as Twilio sends it."""
MULAW_RATE = 8000
MULAW_SILENCE = b"\xff" * FRAME_BYTES
VOICE_RATE = 8000
"""The rate of the caller's voice as a script gives it (16-bit PCM, a phone's)."""
MULAW = "audio/x-mulaw"
L16 = "audio/l16"


class CallerError(RuntimeError):
    """The call cannot go on as Twilio would carry it: a webhook refused or failed, TwiML the
    caller does not carry out, a stream that cannot be opened."""


class CallOver(CallerError):
    """A step of the script came after the call had ended: it was never sent."""


def frames_in(seconds: float) -> int:
    """Whole 20 ms frames in `seconds` (a silence lasts as many frames as asked)."""
    return max(0, round(seconds / FRAME_SECONDS))


@dataclass
class LineClock:
    """Line time, paced against the wall clock at `speed` (10 sends frames 10× faster)."""

    speed: float = 1.0
    frames: int = 0
    _wall: float = 0.0
    _frames: int = 0

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be positive, not {self.speed}")

    @property
    def line(self) -> float:
        """Seconds of line time since the call was dialled."""
        return round(self.frames * FRAME_SECONDS, 6)

    def resume(self) -> None:
        """The line moves on from here: time the script spent between steps is not line time."""
        self._wall, self._frames = time.monotonic(), self.frames

    def tick(self) -> None:
        """Wait until the next frame has been captured (its 20 ms over), then count it."""
        due = self._wall + (self.frames + 1 - self._frames) * FRAME_SECONDS / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.frames += 1


@dataclass(frozen=True)
class MediaFormat:
    """How audio goes on a Media Stream's wire (`start.mediaFormat`): Twilio's μ-law at 8 kHz,
    or the browser phone's L16 at 16 kHz (big-endian samples, as RFC 3551 defines L16)."""

    encoding: str
    sample_rate: int

    @property
    def sample_bytes(self) -> int:
        return 1 if self.encoding == MULAW else SAMPLE_WIDTH

    @property
    def frame_bytes(self) -> int:
        """Bytes of one 20 ms frame on the wire."""
        return round(FRAME_SECONDS * self.sample_rate) * self.sample_bytes

    @property
    def silence(self) -> bytes:
        """One 20 ms frame of silence on the wire."""
        sample = b"\xff" if self.encoding == MULAW else b"\0\0"
        return sample * (self.frame_bytes // self.sample_bytes)

    def seconds(self, size: int) -> float:
        """How long `size` bytes of this format play."""
        return size / (self.sample_rate * self.sample_bytes)

    def frames(self, pcm: bytes) -> list[bytes]:
        """The caller's voice (16-bit PCM at `VOICE_RATE`) as this format's 20 ms frames, the
        last one padded with silence: resampled as a whole, so no frame's edge clicks."""
        wire = self._wire(resample(pcm, VOICE_RATE, self.sample_rate))
        wire += self.silence[: -len(wire) % self.frame_bytes]
        size = self.frame_bytes
        return [wire[i : i + size] for i in range(0, len(wire), size)]

    def described(self) -> dict[str, Any]:
        """As `start.mediaFormat` announces it."""
        return {"encoding": self.encoding, "sampleRate": self.sample_rate, "channels": 1}

    def _wire(self, pcm: bytes) -> bytes:
        if self.encoding == MULAW:
            return pcm_to_ulaw(pcm)
        return np.frombuffer(pcm, dtype="<i2").astype(">i2").tobytes()


MULAW_8K = MediaFormat(MULAW, MULAW_RATE)
"""Twilio's Media Streams."""
L16_16K = MediaFormat(L16, 16000)
"""The browser phone's stream."""


@dataclass(frozen=True)
class Frame:
    """20 ms of the caller's audio; `voiced` when the caller is speaking in it. An empty
    payload is silence, sent in whatever format the leg's wire speaks."""

    payload: bytes = b""
    voiced: bool = False


SILENT = Frame()


@dataclass(frozen=True)
class Words:
    """What the caller said, as Twilio's own recogniser reports it (gather mode)."""

    text: str
    confidence: float


@dataclass(frozen=True)
class Request:
    """A webhook Twilio requests; `params` come on top of the call's own."""

    url: str
    method: str = "POST"
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Then:
    """How a leg ended: the webhook whose TwiML comes next (None: the document's next verb);
    with `hang_up` the call is over once that webhook is made ("caller" or "ivr")."""

    request: Request | None = None
    hang_up: str | None = None


class Leg(Protocol):
    """One verb of the call in progress (a Media Stream, a `<Gather>`, a `<Dial>`...): it takes
    the caller's frames and keys, and says when it is over (`then`)."""

    then: Then | None

    def frame(self, frame: Frame) -> bool:
        """One frame has just been captured (the clock has already counted it); False when
        the leg turned out to be over, and the frame belongs to what comes next."""

    def key(self, digit: str) -> bool:
        """A key pressed between two frames; False as for `frame`."""

    def words(self, words: Words) -> bool:
        """Words said (gather mode: Twilio recognises them); False as for `frame`."""

    def busy(self) -> bool:
        """Something is still playing, or the IVR owes the caller an answer."""

    def expect_reply(self, until: float) -> None:
        """The caller waits for the IVR to say something new, until line time `until`."""

    def settle(self, seconds: float) -> bool:
        """Wait up to `seconds` of wall time, the line standing still, for the IVR to act;
        True when it did."""

    def hang_up(self) -> Then:
        """The caller hangs up during this leg: what Twilio still requests."""

    def close(self) -> None:
        """Free what the leg holds (sockets, threads); safe to call twice."""


class LineCall(Protocol):
    """The call a caller's steps go to: Twilio carrying out TwiML leg after leg, or the
    browser phone's one stream."""

    state: str
    """new, live (dialled), over."""
    ended_by: str | None

    @property
    def call_sid(self) -> str:
        """The call's id on the server (known once dialled)."""

    def dial(self) -> None:
        """The call arrives, up to its first leg."""

    def current(self) -> Leg | None:
        """The leg the call is on; None once it is over."""

    def hang_up(self) -> None:
        """The caller hangs up during the leg under way."""

    def close(self) -> None:
        """Free what the call holds; safe to call twice."""


@dataclass(frozen=True)
class Entry:
    """Something that happened on the call, `at` seconds of line time after dialling."""

    at: float

    def as_json(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **asdict(self)}


@dataclass(frozen=True)
class Fetched(Entry):
    """A webhook requested (signed), its HTTP status and the TwiML it answered with."""

    method: str
    url: str
    params: dict[str, str]
    status: int
    twiml: str

    def __str__(self) -> str:
        return f"{self.at:8.2f}  {self.method} {self.url} → {self.status}"


@dataclass(frozen=True)
class StreamStarted(Entry):
    url: str
    stream_sid: str
    parameters: dict[str, str]

    def __str__(self) -> str:
        return f"{self.at:8.2f}  stream {self.stream_sid} to {self.url}"


@dataclass(frozen=True)
class StreamEnded(Entry):
    by: str
    """"ivr" (the server closed the WebSocket) or "caller" (`stop`)."""

    def __str__(self) -> str:
        return f"{self.at:8.2f}  stream ended by the {self.by}"


@dataclass(frozen=True)
class Heard(Entry):
    """A prompt played to its end, or `cut` (a `clear`, a key, the stream's end)."""

    prompt: str
    """Its mark on a stream; the `<Say>` text or `<Play>` URL in gather mode."""
    seconds: float
    cut: bool = False

    def __str__(self) -> str:
        how = "cut after" if self.cut else "heard"
        return f"{self.at:8.2f}  {how} {self.seconds:.2f} s: {self.prompt}"


@dataclass(frozen=True)
class Echoed(Entry):
    """A mark sent back to the server."""

    mark: str
    received_at: float
    """Line time when the audio before the mark (or the mark, after none) arrived."""
    wall_seconds: float
    """Wall-clock seconds from that arrival to the echo."""


@dataclass(frozen=True)
class Cleared(Entry):
    marks: tuple[str, ...]
    """The marks still pending, echoed at once."""

    def __str__(self) -> str:
        return f"{self.at:8.2f}  clear (marks echoed: {', '.join(self.marks) or 'none'})"


@dataclass(frozen=True)
class Pressed(Entry):
    digit: str

    def __str__(self) -> str:
        return f"{self.at:8.2f}  key {self.digit}"


@dataclass(frozen=True)
class Spoke(Entry):
    seconds: float
    text: str = ""

    def __str__(self) -> str:
        return f"{self.at:8.2f}  spoke {self.seconds:.2f} s {self.text}".rstrip()


@dataclass(frozen=True)
class Listened(Entry):
    """A `listen()` step, added when it ends (`at`: when it began)."""

    seconds: float

    def __str__(self) -> str:
        return f"{self.at:8.2f}  silent {self.seconds:.2f} s"


@dataclass(frozen=True)
class Dialled(Entry):
    target: str
    outcome: str
    seconds: float
    """Ringing and talking, in line time."""

    def __str__(self) -> str:
        return f"{self.at:8.2f}  transfer to {self.target}: {self.outcome}"


@dataclass(frozen=True)
class HungUp(Entry):
    by: str

    def __str__(self) -> str:
        return f"{self.at:8.2f}  call over: hung up by {self.by}"


@dataclass(frozen=True)
class Unexpected(Entry):
    """A server message the caller could not use (Twilio ignores it too)."""

    message: str

    def __str__(self) -> str:
        return f"{self.at:8.2f}  ignored: {self.message}"


E = TypeVar("E", bound=Entry)


@dataclass
class Transcript:
    """Everything that happened on the call, in order; `observe` sees each entry as it comes."""

    entries: list[Entry] = field(default_factory=list)
    observe: Callable[[Entry], None] | None = None

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        if self.observe is not None:
            self.observe(entry)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.entries if isinstance(e, kind)]
