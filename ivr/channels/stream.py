"""One Media Streams call (Twilio, or the browser phone): the stream's codec around the line.

`StreamCall.receive` takes each text message (decoded by `media_streams`) and answers with
the messages to send back and whether the stream goes on. A stream is served only when its
`start` carries a one-time token a TwiML of ours issued for that CallSid; the token holds the
line actions the stream carries out first. Everything a caller meets (prompts and marks,
timers, keys, barge-in, recognition, recordings) is the line's (`ivr.channels.line`); this
module only turns messages into line input and line commands into messages.

Time is the caller's audio: the line's clock starts at `start` and moves with each 20 ms of
media received, so timers expire as the audio passes and tests run as fast as the client
sends. A prompt has played when Twilio echoes its mark, which it does only after playing
the audio sent before it; a `clear` empties Twilio's queue (barge-in).

After StartCallRecording (the caller heard the recording notice and did not decline) the
whole call is recorded, both directions (`call_recording`), and kept as a "call" recording
when the stream ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ivr.calls.runner import CallRunner, CallServices
from ivr.channels import line as ln
from ivr.channels import media_streams as ms
from ivr.channels.call_recording import CallRecorder
from ivr.channels.line_actions import from_records
from ivr.channels.prompt_audio import prompt_audio
from ivr.engine import events as ev
from ivr.engine.ports import Recognizer, RecordingStore
from ivr.storage import twilio as twilio_store
from speech.audio import wav_bytes
from speech.prompts import PromptLibrary

log = logging.getLogger(__name__)

RecognizerFactory = Callable[[CallRunner, str, int], Recognizer | None]
"""The recogniser for a call's language at a rate, or None when the language is keypad-only."""


@dataclass
class StreamCall:
    services: CallServices
    prompts: PromptLibrary
    recognizers: RecognizerFactory
    started_at: datetime
    recordings: RecordingStore | None = None
    """Where the call recording (after consent) and descriptions go; None keeps no audio."""
    decoder: ms.StreamDecoder = field(default_factory=ms.StreamDecoder)
    encoder: ms.StreamEncoder | None = None
    runner: CallRunner | None = None
    line: ln.Line | None = None
    over: bool = False
    """The line hung up or put the caller through: the stream ends."""
    token: str | None = None
    """The one-time token this stream redeemed, until the stream is over."""
    recorder: CallRecorder | None = None
    """The whole call, both directions, from StartCallRecording (or this stream's start,
    when the caller consented on an earlier stream) to the stream's end."""
    saved: bool = False
    node: str | None = None
    """The `ivr serve` worker holding the stream: it carries the call while the stream is
    open (`line_nodes`), so the call is known lost when that worker dies."""

    @property
    def now(self) -> datetime:
        return self.line.now if self.line is not None else self.started_at

    @property
    def started(self) -> bool:
        return self.line is not None

    def receive(self, text: str | bytes) -> tuple[list[str], bool]:
        """Handle one message; the messages to send and whether the stream goes on."""
        value = self.decoder.decode(text)
        if isinstance(value, ms.StreamError):
            log.warning("stream %s: %s", self._sid(), value.reason)
            return [], True
        if isinstance(value, ms.Started):
            if not self._start(value):
                return [], False
        elif self.line is not None:
            self._on(value, self.line)
        out = self._send(self.line.take()) if self.line is not None else []
        going_on = not (isinstance(value, ms.Stopped) or self.over)
        if not going_on:
            self._end_stream()
        return out, going_on

    def hang_up(self) -> None:
        """The socket closed without a `stop`, or the `stop` came: the caller is gone (unless
        the call's status callback said so first, or the line put the caller through)."""
        if self.line is not None and self.runner is not None and not self.over:
            with self.services.database.session() as db:
                first = twilio_store.claim_call_end(db, self.runner.call_id, "stream", self.now)
            if first:
                self.line.hung_up()
        self._end_stream()

    def close(self) -> None:
        """Free the call's recogniser (its place among the process's live ones) at once."""
        if self.line is not None:
            self.line.close()

    def _on(self, value: ms.Inbound, line: ln.Line) -> None:
        match value:
            case ms.Audio(pcm=pcm):
                if self.recorder is not None:
                    self.recorder.heard(pcm)
                line.heard(pcm)
            case ms.KeyPressed(digit=digit):
                line.key(digit)
            case ms.MarkReached(name=name):
                line.played(name)
            case ms.Stopped():
                self.hang_up()

    def _send(self, commands: list[ln.Command]) -> list[str]:
        assert self.encoder is not None
        out: list[str] = []
        for command in commands:
            match command:
                case ln.Play(pcm=pcm, mark=mark):
                    out += self.encoder.prompt(pcm, mark)
                    if self.recorder is not None:
                        self.recorder.said(pcm)
                case ln.Flush():
                    out.append(self.encoder.clear())
                    if self.recorder is not None:
                        self.recorder.cleared()
                case ln.Connect() | ln.End():
                    self.over = True
                case ln.RecordCall() if self.recorder is None:
                    self.recorder = CallRecorder(self.encoder.media_format.sample_rate)
        return out

    def _start(self, started: ms.Started) -> bool:
        token = started.parameters.get(ms.TOKEN_PARAMETER, "")
        with self.services.database.session() as db:
            records = twilio_store.redeem_token(
                db, token, started.call_sid, self.now, node=self.node
            )
        if records is None:
            log.warning("stream %s: refused, no valid token", started.stream_sid)
            return False
        try:
            runner = CallRunner.resume(self.services, started.call_sid)
        except LookupError:
            log.warning("stream %s: no call %s", started.stream_sid, started.call_sid)
            return False
        self.runner, self.token = runner, token
        self.encoder = ms.StreamEncoder(started.stream_sid, started.media_format)
        rate = started.media_format.sample_rate
        if runner.session.recording_consent == "accepted":
            self.recorder = CallRecorder(rate)
        self.line = ln.Line(
            feed=runner.feed,
            rate=rate,
            started_at=self.started_at,
            prompt_audio=lambda say: prompt_audio(self.prompts, say, rate),
            recognizer_for=lambda language: self.recognizers(runner, language, rate),
            keep_recording=self._keep_description,
        )
        self.line.carry_out(from_records(records))
        return True

    def _keep_description(self, pcm: bytes) -> str | None:
        assert self.encoder is not None
        return self._save("description", wav_bytes(pcm, self.encoder.media_format.sample_rate))

    def _end_stream(self) -> None:
        """Keep the call recording, say the stream is over (from now on a status callback
        ends the call), and end the call if Twilio said it is over while the stream was live."""
        if not self.saved:
            self.saved = True
            if self.recorder is not None and self.recorder.caller:
                self._save("call", self.recorder.wav())
        if self.token is None:
            return
        with self.services.database.session() as db:
            twilio_store.end_stream(db, self.token, node=self.node)
        self.token = None
        self._ended_at_twilio()

    def _ended_at_twilio(self) -> None:
        """A final status callback that came while the stream was live left the call to the
        stream; a stream that ends without the caller's hang-up (a transfer's prompt played)
        must then end the call itself, or it would wait for a /twilio/next that never comes."""
        runner = self.runner
        if runner is None or runner.session.ended:
            return
        with self.services.database.session() as db:
            if twilio_store.call_status(db, runner.call_id) not in twilio_store.FINAL_STATUSES:
                return
            if not twilio_store.claim_call_end(db, runner.call_id, "stream", self.now):
                return
        runner.feed(ev.CallerHungUp(at=self.now))

    def _save(self, kind: str, wav: bytes) -> str | None:
        """Keep a recording of this call in the store; its id, or None without a store."""
        if self.recordings is None or self.runner is None:
            return None
        return self.recordings.save_wav(self.runner.call_id, kind, wav, self.now).id

    def _sid(self) -> str:
        return self.encoder.stream_sid if self.encoder else "(not started)"
