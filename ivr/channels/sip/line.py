"""One SIP call through the CallRunner: line events in, the engine's line actions carried out.

Runs in the call's own thread (pyVoIP's per-call handler thread). It answers, then waits on
the call's queue (`media.LineEvent`s from the RTP threads) with a timeout set by the next
timer, so nothing polls. Time is the wall clock at the answer plus the monotonic time since.

- Say: the prompt's pre-rendered audio (`speech.prompts`) is queued on the RTP sender;
  PromptFinished follows once its last frame is sent. Keys, and speech where the Listen
  allows barge-in, drop what is still queued.
- Listen: keys become DigitsPressed; the caller's audio goes to the language's Vosk
  recogniser (none when the language is keypad-only or the process is at its limit).
- Record: after the prompt and a beep, the caller's audio is kept until a key (keys before
  the beep are dropped) or the maximum length, stored as a "description" recording, and
  reported by RecordingFinished.
- HangUp: the queued prompts play out, then BYE. A BYE from the caller is CallerHungUp.
- StartCallRecording (the caller heard the recording notice and did not decline): from then
  on both directions are kept, and stored as a "call" recording when the call ends. Without
  it no call audio is kept at all.
- No RTP for `media_timeout` seconds: the caller is treated as gone (logged).
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ivr.calls import CallRunner, CallServices
from ivr.channels.sip.dialing import transfer_result
from ivr.channels.sip.leg import CivicCall
from ivr.channels.sip.media import (
    FromAgent,
    Heard,
    KeyPressed,
    LegAnswered,
    LegFailed,
    LineEvent,
    MediaEnded,
    Played,
    Playout,
    ReferProgress,
)
from ivr.clock import utc_now
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.ports import Recognizer, RecordingStore
from ivr.engine.session import MIN_RECORDING_SECONDS
from speech.audio import PHONE_RATE, seconds, wav_bytes
from speech.prompts import PromptLibrary
from webhooks.streams import RecognizerFactory, prompt_audio

log = logging.getLogger(__name__)

IDLE_SECONDS = 0.5
BEEP_MARK = "\0beep"
"""Our own mark: the beep before a recording has played; never shown to the engine."""
BEEP_SECONDS = 0.25
RELAY_MAX_BYTES = 2 * PHONE_RATE // 5
"""200 ms of 16-bit audio: the most a bridged leg may lag the other."""
BEEP_HZ = 1000


def relay(playout: Playout, pcm: bytes) -> None:
    """One leg's audio onto the other's sender; dropped rather than let delay build up when
    the two legs' clocks drift apart."""
    if playout.queued < RELAY_MAX_BYTES:
        playout.add(pcm, None)


def beep() -> bytes:
    samples = int(BEEP_SECONDS * PHONE_RATE)
    values = (int(8000 * math.sin(2 * math.pi * BEEP_HZ * n / PHONE_RATE)) for n in range(samples))
    return b"".join(v.to_bytes(2, "little", signed=True) for v in values)


@dataclass
class Recording:
    action: act.Record
    capturing: bool = False
    pcm: bytearray = field(default_factory=bytearray)


@dataclass
class Transfer:
    """A transfer under way: REFER (the caller's PBX calls the target) or a second leg we
    place and bridge; `deadline` (monotonic) ends the ringing as no answer."""

    deadline: float
    agent: CivicCall | None = None
    bridged: bool = False


@dataclass
class SipCall:
    services: CallServices
    prompts: PromptLibrary
    recognizers: RecognizerFactory
    recordings: RecordingStore
    call: CivicCall
    media_timeout: float = 20.0
    transfer_mode: str = "bridge"
    ring_seconds: float = 25.0
    registrar: str = "127.0.0.1:5060"
    runner: CallRunner | None = None
    transfer: Transfer | None = None
    started_at: datetime = field(default_factory=utc_now)
    started: float = field(default_factory=time.monotonic)
    timers: dict[str, float] = field(default_factory=dict)
    listen: act.Listen | None = None
    recognizer: Recognizer | None = None
    recognizer_language: str | None = None
    recording: Recording | None = None
    closing: bool = False
    done: bool = False

    @property
    def now(self) -> datetime:
        return self.started_at + timedelta(seconds=time.monotonic() - self.started)

    def run(self) -> None:
        """Answer and serve the call until either side hangs up."""
        call_id = self.call.call_id
        try:
            self.call.answer()
            self.started_at, self.started = datetime.now(UTC), time.monotonic()
            caller = self.call.request.headers["From"].get("number")
            self.runner, actions = CallRunner.start(
                self.services, caller=caller, channel="sip", at=self.now
            )
            log.info("SIP call %s answered as call %s", call_id, self.runner.call_id)
            self._carry_out(actions)
            while not self.done:
                self._step()
        except Exception:
            log.exception("SIP call %s failed; hanging up", call_id)
            self._hang_up()
        finally:
            self._save_call_recording()
            self._drop_agent()
            if self.recognizer is not None:
                self.recognizer.close()
            self.call.release()

    def _step(self) -> None:
        due = min(self.timers.values(), default=math.inf)
        wait = max(0.0, min(IDLE_SECONDS, due - time.monotonic()))
        with contextlib.suppress(queue.Empty):
            self._on(self.call.events.get(timeout=wait))
        for name, at in sorted(self.timers.items(), key=lambda item: item[1]):
            if at <= time.monotonic() and self.timers.pop(name, None) is not None:
                self._feed(ev.TimerExpired(at=self.now, name=name))
        if self.closing and not self.call.media.playout.busy:
            self._hang_up()
        transfer = self.transfer
        if transfer and not transfer.bridged and time.monotonic() > transfer.deadline:
            log.info("SIP call %s: the transfer rang out", self.call.call_id)
            if transfer.agent is not None:
                transfer.agent.cancel()
            self._transfer_ended("no-answer")
        heard = self.call.media.last_heard or self.started
        if not self.done and time.monotonic() - heard > self.media_timeout:
            log.warning(
                "SIP call %s: no RTP for %.0f s, ending it", self.call.call_id, self.media_timeout
            )
            self._feed(ev.CallerHungUp(at=self.now))
            self._hang_up()

    def _on(self, item: LineEvent) -> None:
        match item:
            case Heard(pcm=pcm):
                self._heard(pcm)
            case KeyPressed(key=key):
                if self.recording is not None:
                    if self.recording.capturing:  # a key before the beep is not an answer
                        self._end_recording()
                    return
                if self.listen is not None and self.listen.barge_in:
                    self.call.media.playout.clear()
                self._feed(ev.DigitsPressed(at=self.now, digits=key))
            case Played(mark=mark):
                if mark == BEEP_MARK and self.recording is not None:
                    self.recording.capturing = True
                elif mark != BEEP_MARK:
                    self._feed(ev.PromptFinished(at=self.now, mark=mark))
                self._start_recording_when_quiet()
            case MediaEnded():
                if not self.closing:
                    self._feed(ev.CallerHungUp(at=self.now))
                self.done = True
            case FromAgent(event=Heard(pcm=pcm)) if self.transfer and self.transfer.bridged:
                relay(self.call.media.playout, pcm)
            case FromAgent(event=MediaEnded()) if self.transfer and self.transfer.bridged:
                log.info("SIP call %s: the agent hung up", self.call.call_id)
                self._hang_up()
            case LegAnswered() if self.transfer is not None:
                self.transfer.bridged = True
                self.call.media.playout.clear()
                self._feed(ev.TransferFinished(at=self.now, result="answered"))
            case LegFailed(status=status) if self.transfer is not None:
                self._transfer_ended(transfer_result(status))
            case ReferProgress(status=status) if self.transfer is not None:
                self._refer_progress(status)

    def _heard(self, pcm: bytes) -> None:
        if self.transfer is not None:
            if self.transfer.bridged and self.transfer.agent is not None:
                relay(self.transfer.agent.media.playout, pcm)
            return
        if self.recording is not None:
            if self.recording.capturing:
                self.recording.pcm += pcm
                if (
                    seconds(bytes(self.recording.pcm), PHONE_RATE)
                    >= self.recording.action.max_seconds
                ):
                    self._end_recording()
            return
        if self.recognizer is None:
            return
        for event in self.recognizer.accept(pcm, self.now):
            if isinstance(event, ev.SpeechStarted) and self.listen and self.listen.barge_in:
                self.call.media.playout.clear()
            self._feed(event)

    def _start_recording_when_quiet(self) -> None:
        recording = self.recording
        if recording is None or recording.capturing or self.call.media.playout.busy:
            return
        if recording.action.beep:
            self.call.media.playout.add(beep(), BEEP_MARK)
        else:
            recording.capturing = True

    def _end_recording(self) -> None:
        assert self.recording is not None and self.runner is not None
        pcm, self.recording = bytes(self.recording.pcm), None
        length = seconds(pcm, PHONE_RATE)
        recording_id = None
        if length >= MIN_RECORDING_SECONDS:
            stored = self.recordings.save_wav(
                self.runner.call_id, "description", wav_bytes(pcm, PHONE_RATE), self.now
            )
            recording_id = stored.id
        self._feed(ev.RecordingFinished(at=self.now, recording_id=recording_id, seconds=length))

    def _feed(self, event: ev.Event) -> None:
        if self.runner is None or self.runner.session.ended or self.done:
            return
        self._carry_out(self.runner.feed(event))

    def _carry_out(self, actions: list[act.Action]) -> None:
        assert self.runner is not None
        for action in actions:
            match action:
                case act.Say():
                    pcm = prompt_audio(self.prompts, action, PHONE_RATE)
                    self.call.media.playout.add(pcm, action.mark)
                case act.Listen():
                    self.listen = action
                    if action.language != self.recognizer_language:
                        if self.recognizer is not None:
                            self.recognizer.close()
                        self.recognizer_language = action.language
                        self.recognizer = self.recognizers(self.runner, action.language, PHONE_RATE)
                    if self.recognizer is not None:
                        self.recognizer.listen(action)
                case act.StartTimer():
                    self.timers[action.name] = time.monotonic() + action.seconds
                case act.CancelTimer():
                    self.timers.pop(action.name, None)
                case act.Record():
                    self.listen = None
                    self.recording = Recording(action)
                    self._start_recording_when_quiet()
                case act.Transfer():
                    self._transfer(action)
                case act.HangUp():
                    self.closing = True
                case act.StartCallRecording():
                    self.call.media.record_call()

    def _transfer(self, action: act.Transfer) -> None:
        """REFER, or a second leg bridged by relaying its audio (DESIGN §8)."""
        target = action.target
        user = target.removeprefix("sip:").removeprefix("sips:").partition("@")[0]
        self.listen = None
        self.transfer = Transfer(deadline=time.monotonic() + self.ring_seconds)
        log.info("SIP call %s: transfer to %s (%s)", self.call.call_id, target, self.transfer_mode)
        if self.transfer_mode == "refer":
            uri = target if target.startswith("sip") else f"sip:{target}@{self.registrar}"
            self.call.refer(uri)
        else:
            self.transfer.agent = self.call.phone.dial(user, self.call.events)

    def _refer_progress(self, status: int) -> None:
        """202 (the REFER is taken) and 1xx (ringing) wait; 2xx connected; others failed."""
        if status == 202 or status < 200:
            return
        result = transfer_result(status)
        self._transfer_ended(result)
        if result == "answered":
            self._hang_up()  # the caller is with the target now: our leg leaves

    def _transfer_ended(self, result: ev.TransferResult) -> None:
        """The transfer will not be bridged: the flow goes on (no answer → a callback offer)."""
        if self.transfer is not None and self.transfer.agent is not None:
            self.transfer.agent.release()
        self.transfer = None
        self._feed(ev.TransferFinished(at=self.now, result=result))

    def _drop_agent(self) -> None:
        agent = self.transfer.agent if self.transfer else None
        if agent is None:
            return
        if self.transfer is not None and self.transfer.bridged:
            with contextlib.suppress(Exception):  # pyVoIP: InvalidStateError once it ended
                agent.hangup()
        else:
            agent.cancel()
        agent.release()

    def _save_call_recording(self) -> None:
        recorder = self.call.media.recorder
        if recorder is None or self.runner is None or not recorder.seconds:
            return
        stored = self.recordings.save_wav(self.runner.call_id, "call", recorder.wav(), self.now)
        log.info(
            "SIP call %s: call recording %s, %.1f s", self.call.call_id, stored.id, stored.seconds
        )

    def _hang_up(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.call.hangup()
        except Exception:  # pyVoIP raises InvalidStateError when the call already ended
            log.debug("SIP call %s: hang-up after the call ended", self.call.call_id)
