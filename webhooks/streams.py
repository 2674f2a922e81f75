"""One Media Streams call at the edge: the WebSocket's messages in, the call's line out.

`StreamCall.receive` takes each text message (decoded by `media_streams`), and answers with
the messages to send back and whether the stream goes on. A stream is served only when its
`start` carries a one-time token a TwiML of ours issued for that CallSid; the token holds the
line actions the stream carries out first.

Time is the caller's audio: a stream's clock starts at `start` and moves with each 20 ms of
media received, so timers (no input, inter-digit) expire as the audio passes, tests run as
fast as the client sends, and nothing here reads a clock after the start.

Prompts are the files `speech.prompts.PromptLibrary.compose` names (built ahead by `ivr
prompts build`), each decoded once per process and rate (`prompt_file`); a prompt missing
from that cache is silence as long as the text would take to say, and is logged; nothing is
synthesised during a call. Record keeps the caller's audio until its maximum length or a
key, as a "description" recording. After StartCallRecording
(the caller heard the recording notice and did not decline) the whole call is recorded, both
directions (`call_recording`), and kept as a "call" recording when the stream ends.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ivr.bootstrap import recognizer_for
from ivr.calls import CallRunner, CallServices
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.ports import Recognizer, RecordingStore
from ivr.storage import twilio as twilio_store
from speech.audio import AudioError, read_wav, seconds, silence
from speech.models import ModelError
from speech.prompts import PromptLibrary, PromptMissing
from webhooks import media_streams as ms
from webhooks.call_recording import CallRecorder
from webhooks.line_actions import from_records
from webhooks.twiml import TOKEN_PARAMETER
from webhooks.websocket import ConnectionClosed, WebSocket

log = logging.getLogger(__name__)

SECONDS_PER_CHARACTER = 0.07
MIN_PROMPT_SECONDS = 0.5
PROMPT_FILES_CACHED = 1024
"""Decoded prompt files kept in memory (a flow's prompts and pieces, per language and rate:
a few seconds of 16-bit audio each, some tens of MB at most)."""

RecognizerFactory = Callable[[CallRunner, str, int], Recognizer | None]
"""The recogniser for a call's language at a rate, or None when the language is keypad-only."""


def prompt_audio(prompts: PromptLibrary, say: act.Say, rate: int) -> bytes:
    """A prompt's audio as 16-bit PCM at `rate`: its files, or plausible silence."""
    try:
        return b"".join(prompt_file(path, rate) for path in prompts.compose(say))
    except (PromptMissing, AudioError) as error:
        log.warning("prompt %s played as silence: %s", say.prompt, error)
    return silence(max(MIN_PROMPT_SECONDS, SECONDS_PER_CHARACTER * len(say.text)), rate)


def prompt_file(path: Path, rate: int) -> bytes:
    """One prompt file as 16-bit PCM at `rate`, decoded (and resampled) once per process
    while the file stays the same: every call plays the same few files."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as error:
        raise AudioError(f"{path}: {error.strerror}") from None
    return _decoded(path, stamp, rate)


@functools.lru_cache(maxsize=PROMPT_FILES_CACHED)
def _decoded(path: Path, stamp: int, rate: int) -> bytes:
    return read_wav(path, rate)


def call_recognizer(runner: CallRunner, language: str, rate: int) -> Recognizer | None:
    """The process's recogniser for a call (a `RecognizerFactory`); None when keypad-only."""
    try:
        return recognizer_for(runner.loaded.flow, language, rate)
    except ModelError:
        return None


def serve(ws: WebSocket, call: StreamCall) -> None:
    """Carry one WebSocket's messages through `call` until the stream ends; a socket that
    closes (or breaks) first is the caller hanging up. Both the Twilio and the browser
    stream run here."""
    try:
        with contextlib.suppress(ConnectionClosed):  # a send found the socket gone
            while (message := ws.receive()) is not None:
                out, going_on = call.receive(message)
                for text in out:
                    ws.send(text)
                if not going_on:
                    return
        call.hang_up()
    finally:
        call.close_recognizer()


@dataclass
class StreamCall:
    services: CallServices
    prompts: PromptLibrary
    recognizers: RecognizerFactory
    started_at: datetime
    decoder: ms.StreamDecoder = field(default_factory=ms.StreamDecoder)
    encoder: ms.StreamEncoder | None = None
    runner: CallRunner | None = None
    heard: float = 0.0
    """Seconds of the caller's audio received: the stream's clock."""
    timers: dict[str, float] = field(default_factory=dict)
    marks: list[str] = field(default_factory=list)
    """Marks sent whose audio the caller has not finished hearing."""
    recognizer: Recognizer | None = None
    recognizer_language: str | None = None
    """One recogniser per call and language (a live one counts against the process's limit)."""
    barge_in: bool = True
    """The caller's speech may cut the prompts of the current Listen (not a notice's)."""
    recording_until: float | None = None
    recording_from: float = 0.0
    closing: bool = False
    token: str | None = None
    """The one-time token this stream redeemed, until the stream is over."""
    outbox: list[str] = field(default_factory=list)
    recordings: RecordingStore | None = None
    """Where the call recording (after consent) and descriptions go; None keeps no audio."""
    recorder: CallRecorder | None = None
    """The whole call, both directions, from StartCallRecording (or this stream's start,
    when the caller consented on an earlier stream) to the stream's end."""
    description: CallRecorder | None = None
    """The caller's audio while a Record lasts."""
    saved: bool = False

    @property
    def now(self) -> datetime:
        return self.started_at + timedelta(seconds=self.heard)

    def receive(self, text: str | bytes) -> tuple[list[str], bool]:
        """Handle one message; the messages to send and whether the stream goes on."""
        value = self.decoder.decode(text)
        if isinstance(value, ms.StreamError):
            log.warning("stream %s: %s", self._sid(), value.reason)
        elif isinstance(value, ms.Started):
            if not self._start(value):
                return [], False
        elif isinstance(value, ms.Audio):
            self._audio(value.pcm)
        elif self.runner is not None:
            self._other(value)
        out, self.outbox = self.outbox, []
        going_on = not (isinstance(value, ms.Stopped) or (self.closing and not self.marks))
        if not going_on:
            self._end_stream()
        return out, going_on

    def hang_up(self) -> None:
        """The socket closed without a `stop`, or the `stop` came: the caller is gone (unless
        the call's status callback said so first). A description being recorded ends there
        and is kept, for the draft ticket, as Twilio's `<Record>` keeps it in gather mode."""
        if self.runner is not None and not self.runner.session.ended and not self.closing:
            with self.services.database.session() as db:
                first = twilio_store.claim_call_end(db, self.runner.call_id, "stream", self.now)
            if first:
                if self.recording_until is not None:
                    self._end_recording()
                self._feed(ev.CallerHungUp(at=self.now))
        self._end_stream()

    def close_recognizer(self) -> None:
        """Free the call's recogniser (its place among the process's live ones) at once."""
        if self.recognizer is not None:
            self.recognizer.close()
        self.recognizer = self.recognizer_language = None

    def _end_stream(self) -> None:
        """Keep the call recording, and say the stream is over (from now on a status
        callback ends the call)."""
        if not self.saved:
            self.saved = True
            self._save("call", self.recorder)
        if self.token is None:
            return
        with self.services.database.session() as db:
            twilio_store.end_stream(db, self.token)
        self.token = None

    def _start(self, started: ms.Started) -> bool:
        token = started.parameters.get(TOKEN_PARAMETER, "")
        with self.services.database.session() as db:
            records = twilio_store.redeem_token(db, token, started.call_sid, self.now)
        if records is None:
            log.warning("stream %s: refused, no valid token", started.stream_sid)
            return False
        try:
            self.runner = CallRunner.resume(self.services, started.call_sid)
        except LookupError:
            log.warning("stream %s: no call %s", started.stream_sid, started.call_sid)
            return False
        self.token = token
        self.encoder = ms.StreamEncoder(started.stream_sid, started.media_format)
        if self.runner.session.recording_consent == "accepted":
            self.recorder = CallRecorder(started.media_format.sample_rate)
        self._carry_out(from_records(records))
        return True

    def _audio(self, pcm: bytes) -> None:
        if self.encoder is None:
            return
        self.heard += seconds(pcm, self.encoder.media_format.sample_rate)
        if self.recorder is not None:
            self.recorder.heard(pcm)
        if self.description is not None:
            self.description.heard(pcm)
        if self.recognizer is not None and self.recording_until is None:
            for event in self.recognizer.accept(pcm, self.now):
                if isinstance(event, ev.SpeechStarted) and self.marks and self.barge_in:
                    self.outbox.append(self.encoder.clear())
                    if self.recorder is not None:
                        self.recorder.cleared()
                self._feed(event)
        if self.recording_until is not None and self.heard >= self.recording_until:
            self._end_recording()
        for name, due in sorted(self.timers.items(), key=lambda item: item[1]):
            if due <= self.heard and self.timers.pop(name, None) is not None:
                self._feed(ev.TimerExpired(at=self.now, name=name))

    def _other(self, value: ms.Inbound) -> None:
        if isinstance(value, ms.Stopped):
            self.hang_up()
            return
        if isinstance(value, ms.KeyPressed) and self.recording_until is not None:
            self._end_recording()
            return
        if isinstance(value, ms.MarkReached):
            if value.name not in self.marks:
                return
            self.marks.remove(value.name)
        event = ms.to_event(value, self.now)
        if event is not None and not (self.runner and self.runner.session.ended):
            self._feed(event)

    def _end_recording(self) -> None:
        assert self.recording_until is not None
        length = self.heard - self.recording_from
        self.recording_until = None
        recording_id = self._save("description", self.description)
        self.description = None
        self._feed(ev.RecordingFinished(at=self.now, recording_id=recording_id, seconds=length))

    def _save(self, kind: str, recorder: CallRecorder | None) -> str | None:
        """Keep a recording of this call in the store; its id, or None without audio."""
        if recorder is None or self.recordings is None or self.runner is None:
            return None
        if not recorder.caller:
            return None
        stored = self.recordings.save_wav(self.runner.call_id, kind, recorder.wav(), self.now)
        return stored.id

    def _feed(self, event: ev.Event) -> None:
        assert self.runner is not None
        self._carry_out(self.runner.feed(event))

    def _carry_out(self, actions: list[act.Action]) -> None:
        assert self.encoder is not None and self.runner is not None
        rate = self.encoder.media_format.sample_rate
        for action in actions:
            match action:
                case act.Say():
                    pcm = prompt_audio(self.prompts, action, rate)
                    self.outbox += self.encoder.prompt(pcm, action.mark)
                    self.marks.append(action.mark)
                    if self.recorder is not None:
                        self.recorder.said(pcm)
                case act.Listen():
                    self.barge_in = action.barge_in
                    if action.language != self.recognizer_language:
                        self.close_recognizer()
                        self.recognizer_language = action.language
                        self.recognizer = self.recognizers(self.runner, action.language, rate)
                    if self.recognizer is not None:
                        self.recognizer.listen(action)
                case act.StartTimer():
                    self.timers[action.name] = self.heard + action.seconds
                case act.CancelTimer():
                    self.timers.pop(action.name, None)
                case act.Record():
                    self.recording_from = self.heard
                    self.recording_until = self.heard + action.max_seconds
                    self.description = CallRecorder(rate)
                case act.StartCallRecording() if self.recorder is None:
                    self.recorder = CallRecorder(rate)
                case act.Transfer() | act.HangUp():
                    self.closing = True

    def _sid(self) -> str:
        return self.encoder.stream_sid if self.encoder else "(not started)"
