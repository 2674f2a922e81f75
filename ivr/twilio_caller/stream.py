"""One `<Connect><Stream>` of the faithful Twilio caller: Twilio's side of a bidirectional
Media Stream, over a real WebSocket (the `websockets` package's sync client). The browser
phone's page speaks the same shapes in another `MediaFormat` (L16 at 16 kHz), its handshake
carrying the signed-in session's headers (`browser`).

Twilio's documented behaviour, kept here: `connected`, then `start` (with the `<Parameter>`s),
then a `media` frame every 20 ms, silence included, `sequenceNumber` rising on every message;
keys are `dtmf` messages one at a time; the audio the server sends is queued and played at real
time, a `mark` is echoed once the audio sent before it has played, and a `clear` empties the
queue and echoes every pending mark at once. All of it on the line clock (`Playout` is pure).

A thread of ours takes the server's messages off the socket while the caller sends, stamped
with their wall-clock arrival; the caller's thread reads them between frames, so a message
arrives at the line time of the last frame sent, and nothing is echoed early.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.http11 import USER_AGENT
from websockets.sync.client import ClientConnection, connect

from ivr.twilio_caller.line import (
    FRAME_SECONDS,
    MULAW_8K,
    CallerError,
    Cleared,
    Echoed,
    Frame,
    Heard,
    LineClock,
    MediaFormat,
    Request,
    StreamEnded,
    StreamStarted,
    Then,
    Transcript,
    Unexpected,
    Words,
)

CLOSE_WAIT_SECONDS = 5.0
"""How long the caller waits for the server's side of a closing socket."""


@dataclass(frozen=True)
class Arrival:
    """When something came from the server: on the line clock, and on the wall clock."""

    at: float
    wall: float


@dataclass(frozen=True)
class Pending:
    """A mark the server sent: when the audio before it plays, and when that audio (or the
    mark, after none) arrived."""

    name: str
    start: float
    due: float
    arrived: Arrival


@dataclass
class Playout:
    """Twilio's queue of the server's audio on the line clock: audio plays in order, at real
    time, from when it arrives; a mark is due when the audio before it has played."""

    playhead: float
    """Line time when the audio queued so far has played."""
    prompt: tuple[float, Arrival] | None = None
    """When the audio since the last mark starts playing, and when it arrived (None: none)."""
    pending: list[Pending] = field(default_factory=list)

    def audio(self, seconds: float, arrived: Arrival) -> None:
        start = max(self.playhead, arrived.at)
        if self.prompt is None:
            self.prompt = (start, arrived)
        self.playhead = start + seconds

    def mark(self, name: str, arrived: Arrival) -> None:
        due = max(self.playhead, arrived.at)
        start, first = self.prompt or (due, arrived)
        self.pending.append(Pending(name, start, due, first))
        self.prompt = None

    def due(self, at: float) -> list[Pending]:
        """The marks whose audio has played by `at`, in order (taken off the queue)."""
        ready = [p for p in self.pending if p.due <= at + 1e-9]
        self.pending = self.pending[len(ready) :]
        return ready

    def clear(self, at: float) -> list[Pending]:
        """Drop the queued audio: every pending mark, to be echoed now."""
        dropped, self.pending = self.pending, []
        self.playhead, self.prompt = at, None
        return dropped

    def playing(self, at: float) -> bool:
        return bool(self.pending) or self.playhead > at + 1e-9


@dataclass(frozen=True)
class Received:
    """A server message, and when (wall clock) it came off the socket; None text: closed."""

    text: str | None
    wall: float


@dataclass(frozen=True)
class CallIds:
    call_sid: str
    account_sid: str | None
    """None: the peer has no account (the browser phone's page sends none)."""

    def sent(self) -> dict[str, str]:
        """As `start` and `stop` carry them."""
        ids = {"accountSid": self.account_sid, "callSid": self.call_sid}
        return {name: value for name, value in ids.items() if value is not None}


class StreamLeg:
    """One Media Stream, from `start` until either side ends it."""

    def __init__(
        self,
        url: str,
        *,
        reach: str,
        parameters: Mapping[str, str],
        action: Request | None,
        ids: CallIds,
        clock: LineClock,
        transcript: Transcript,
        patience: float,
        timeout: float,
        media_format: MediaFormat = MULAW_8K,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Open the WebSocket at `reach` (where the server listens for `url`, the URL the TwiML
        named) with `headers` in its handshake, start a thread reading it, and send
        `connected` and `start` announcing `media_format`."""
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.ids, self.clock, self.transcript = ids, clock, transcript
        self.media_format = media_format
        self.action, self.patience = action, patience
        self.then: Then | None = None
        self.sequence = 0
        self.chunk = 0
        self.started_at = clock.line
        self.playout = Playout(playhead=clock.line)
        self.owed: tuple[float, float] | None = None
        """The IVR owes the caller an answer (its first words, a reply to a key) until this
        line time and this wall time, both: its timers run on the line, its work on the wall."""
        self._owe(clock.line + patience, wall=timeout)
        self.speaking = False
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.exits = contextlib.ExitStack()
        self.ws: ClientConnection = self.exits.enter_context(_opened(reach, headers or {}, timeout))
        self.reader = threading.Thread(
            target=self._read, name=f"stream-{self.stream_sid}", daemon=True
        )
        self.reader.start()
        self._send_text(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            **ids.sent(),
            "streamSid": self.stream_sid,
            "tracks": ["inbound"],
            "customParameters": dict(parameters),
            "mediaFormat": media_format.described(),
        }
        self._send("start", start=start)
        transcript.add(StreamStarted(clock.line, url, self.stream_sid, dict(parameters)))

    def frame(self, frame: Frame) -> bool:
        """Send the frame just captured, then echo the marks its playout time reached."""
        self._drain()
        if self.then is not None:
            return False
        if frame.voiced and not self.speaking:
            self._owe(self.clock.line + self.patience)
        self.speaking = frame.voiced
        self.chunk += 1
        stamp = round((self.clock.line - FRAME_SECONDS - self.started_at) * 1000)
        wire = frame.payload or self.media_format.silence
        payload = base64.b64encode(wire).decode("ascii")
        media = {"track": "inbound", "chunk": str(self.chunk), "timestamp": str(stamp)}
        self._send("media", media={**media, "payload": payload})
        self._echo_due()
        return True

    def key(self, digit: str) -> bool:
        self._drain()
        if self.then is not None:
            return False
        self._send("dtmf", dtmf={"track": "inbound_track", "digit": digit})
        self._owe(self.clock.line + self.patience)
        return True

    def words(self, words: Words) -> bool:
        return self.then is None  # on a stream, words are audio: these were never said

    def busy(self) -> bool:
        self._drain()
        if self.then is not None:
            return False
        owed = self.owed is not None and (
            self.clock.line < self.owed[0] or time.monotonic() < self.owed[1]
        )
        return owed or self.playout.playing(self.clock.line)

    def expect_reply(self, until: float) -> None:
        self._owe(until)

    def settle(self, seconds: float) -> bool:
        if self.then is not None:
            return False
        try:
            received = self.inbox.get(timeout=seconds)
        except queue.Empty:
            return False
        self._handle(received)
        self._drain()
        return True

    def hang_up(self) -> Then:
        """The caller hangs up: `stop`, then Twilio closes the socket."""
        if self.then is None and self._send("stop", stop=self.ids.sent()):
            self._ended("caller")
        return Then(hang_up="caller")

    def close(self) -> None:
        self.exits.close()
        self.reader.join(CLOSE_WAIT_SECONDS)

    def _owe(self, until: float, wall: float = 0.0) -> None:
        """The IVR owes an answer until line time `until`, and for `wall` seconds at least (its
        first words may wait on its set-up, a speech model loading)."""
        self.owed = (until, time.monotonic() + wall)

    def _read(self) -> None:
        try:
            for message in self.ws:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                self.inbox.put(Received(text, time.monotonic()))
        except ConnectionClosed:
            pass
        finally:
            self.inbox.put(Received(None, time.monotonic()))

    def _drain(self) -> None:
        """Take every message that has arrived (at the line time of the last frame sent)."""
        while self.then is None:
            try:
                received = self.inbox.get_nowait()
            except queue.Empty:
                return
            self._handle(received)

    def _handle(self, received: Received) -> None:
        if received.text is None:
            self._ended("ivr")
            return
        at = self.clock.line
        message = _parsed(received.text)
        if message is None or message.get("streamSid") != self.stream_sid:
            self.transcript.add(Unexpected(at, received.text[:200]))
            return
        match message.get("event"):
            case "media":
                seconds = _media_seconds(message.get("media"), self.media_format)
                if seconds is None:
                    self.transcript.add(Unexpected(at, received.text[:200]))
                    return
                self.playout.audio(seconds, Arrival(at, received.wall))
                self.owed = None
            case "mark":
                name = (message.get("mark") or {}).get("name")
                if not isinstance(name, str):
                    self.transcript.add(Unexpected(at, received.text[:200]))
                    return
                self.playout.mark(name, Arrival(at, received.wall))
                self.owed = None
            case "clear":
                dropped = self.playout.clear(at)
                self.transcript.add(Cleared(at, tuple(p.name for p in dropped)))
                for pending in dropped:
                    self._echo(pending, cut=True)
            case _:
                self.transcript.add(Unexpected(at, received.text[:200]))
        self._echo_due()

    def _echo_due(self) -> None:
        for pending in self.playout.due(self.clock.line):
            self._echo(pending, cut=False)

    def _echo(self, pending: Pending, *, cut: bool) -> None:
        at = self.clock.line
        played = (
            max(0.0, min(at, pending.due) - pending.start) if cut else pending.due - pending.start
        )
        self.transcript.add(Heard(at, pending.name, round(played, 3), cut))
        if self._send("mark", mark={"name": pending.name}):
            wall = time.monotonic() - pending.arrived.wall
            self.transcript.add(Echoed(at, pending.name, pending.arrived.at, wall))

    def _send(self, event: str, **body: Any) -> bool:
        """Send one message; False when the server had closed the socket (then the leg ends)."""
        self.sequence += 1
        message = {"event": event, "sequenceNumber": str(self.sequence), **body}
        return self._send_text(json.dumps({**message, "streamSid": self.stream_sid}))

    def _send_text(self, text: str) -> bool:
        try:
            self.ws.send(text)
        except ConnectionClosed:
            self._await_close()
            return False
        return True

    def _await_close(self) -> None:
        """The server closed the socket under a send: its last messages, then the end."""
        while self.then is None:
            try:
                received = self.inbox.get(timeout=CLOSE_WAIT_SECONDS)
            except queue.Empty:
                self._ended("ivr")
                return
            self._handle(received)

    def _ended(self, by: str) -> None:
        """The stream is over: audio still queued is never heard; Twilio goes on with the
        `<Connect>`'s action, or the document's next verb."""
        at = self.clock.line
        for pending in self.playout.clear(at):
            played = max(0.0, min(at, pending.due) - pending.start)
            self.transcript.add(Heard(at, pending.name, round(played, 3), cut=True))
        self.transcript.add(StreamEnded(at, by))
        self.then = Then(request=self.action)


def _opened(reach: str, headers: Mapping[str, str], timeout: float) -> ClientConnection:
    """The stream's WebSocket, its handshake carrying `headers` (a User-Agent among them
    replaces the client's own: a signed-in session may be bound to it)."""
    extra = {name: value for name, value in headers.items() if name.lower() != "user-agent"}
    agent = next((v for n, v in headers.items() if n.lower() == "user-agent"), USER_AGENT)
    try:
        return connect(
            reach,
            open_timeout=timeout,
            close_timeout=CLOSE_WAIT_SECONDS,
            compression=None,
            additional_headers=extra,
            user_agent_header=agent,
        )
    except (OSError, InvalidHandshake, InvalidURI) as error:
        raise CallerError(f"the stream {reach} could not be opened: {error}") from None


def _parsed(text: str) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _media_seconds(media: Any, media_format: MediaFormat) -> float | None:
    """How long a `media` message's audio plays in the stream's format; None when it has none."""
    payload = media.get("payload") if isinstance(media, dict) else None
    if not isinstance(payload, str):
        return None
    try:
        return media_format.seconds(len(base64.b64decode(payload, validate=True)))
    except (binascii.Error, ValueError):
        return None
