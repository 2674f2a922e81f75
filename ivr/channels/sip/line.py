"""One SIP call: pyVoIP's call and our RTP around the line machine (`ivr.channels.line`).

Runs in the call's own thread (pyVoIP's per-call handler thread). It answers, then waits on
the call's queue (`media.LineEvent`s from the RTP threads) with a timeout set by the line's
next timer, so nothing polls. The line's clock is the time since the answer (a caller may
send no RTP while silent), its prompts go to the RTP sender, which reports each mark once
the prompt's last frame is sent; everything a caller meets is the line's.

- Transfer (once "Connecting you…" has played): a REFER (the caller's PBX calls the target)
  or a second leg we place and bridge by relaying audio (DESIGN §8). The caller hears
  ringback while it rings; `ring_seconds` without an answer is no answer, and so is the
  caller pressing `*` (`line.GIVE_UP_KEY`) meanwhile, or already during "Connecting you…"
  (then nobody is dialled; the flow goes on, e.g. to a callback offer).
- StartCallRecording: from then on both directions are kept, and stored as a "call"
  recording when the call ends. Without it no call audio is kept at all.
- No RTP for `media_timeout` seconds: the caller is treated as gone (logged).
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import time
from dataclasses import dataclass, field
from datetime import datetime

from ivr.calls.runner import CallRunner, CallServices
from ivr.channels import line as ln
from ivr.channels.prompt_audio import prompt_audio
from ivr.channels.sip.dialing import transfer_result
from ivr.channels.sip.leg import CivicCall, NotAnswered
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
from ivr.channels.stream import RecognizerFactory
from ivr.clock import utc_now
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.ports import RecordingStore
from speech.audio import PHONE_RATE, silence, wav_bytes
from speech.prompts import PromptLibrary

log = logging.getLogger(__name__)

IDLE_SECONDS = 0.5
RELAY_MAX_BYTES = 2 * PHONE_RATE // 5
"""200 ms of 16-bit audio: the most a bridged leg may lag the other."""
TONE_HZ = 425
RINGBACK = (1.0, 4.0)
"""The European ringing tone (ETSI TR 101 041): 425 Hz, 1 s on, 4 s off..."""
BUSY = (0.5, 0.5)
"""...and its busy tone, 0.5 s on, 0.5 s off,"""
BUSY_SECONDS = 2.0
"""played this long when the department is busy, before the flow goes on."""
BUSY_MARK = "sip:busy-tone"


def relay(playout: Playout, pcm: bytes) -> None:
    """One leg's audio onto the other's sender; dropped rather than let delay build up when
    the two legs' clocks drift apart."""
    if playout.queued < RELAY_MAX_BYTES:
        playout.add(pcm, None)


def progress_tone(cadence: tuple[float, float], duration: float) -> bytes:
    """A call progress tone (`cadence`: seconds on, off) for `duration` seconds: ringing
    while a transfer rings, so it does not ring in dead air; busy when it is busy."""
    on, off = cadence
    tone = b"".join(
        int(6000 * math.sin(2 * math.pi * TONE_HZ * n / PHONE_RATE)).to_bytes(
            2, "little", signed=True
        )
        for n in range(int(on * PHONE_RATE))
    )
    cycle = tone + silence(off, PHONE_RATE)
    return cycle * math.ceil(duration / (on + off))


@dataclass
class Transfer:
    """A transfer under way: REFER (the caller's PBX calls the target) or a second leg we
    place and bridge; `deadline` (monotonic) ends the ringing as no answer."""

    deadline: float
    agent: CivicCall | None = None
    bridged: bool = False
    busy: bool = False
    """The target was busy: the busy tone plays, then the flow goes on."""


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
    line: ln.Line | None = None
    transfer: Transfer | None = None
    started_at: datetime = field(default_factory=utc_now)
    started: float = field(default_factory=time.monotonic)
    done: bool = False

    def run(self) -> None:
        """Answer and serve the call until either side hangs up."""
        call_id = self.call.call_id
        try:
            self.call.answer()
        except NotAnswered as error:
            log.info("SIP call %s ended unanswered: %s", call_id, error)
            self.call.release()
            return
        try:
            self.started_at, self.started = utc_now(), time.monotonic()
            caller = self.call.request.headers["From"].get("number")
            self.runner, actions = CallRunner.start(
                self.services,
                caller=caller,
                channel="sip",
                at=self.started_at,
                can_give_up=self.transfer_mode == "bridge",  # a REFER's ringing is the PBX's
            )
            log.info("SIP call %s answered as call %s", call_id, self.runner.call_id)
            self.line = self._line(self.runner)
            self.line.carry_out(actions)
            self._obey()
            while not self.done:
                self._step(self.line)
        except Exception:
            log.exception("SIP call %s failed; hanging up", call_id)
            self._hang_up()
        finally:
            self._save_call_recording()
            self._drop_agent()
            if self.line is not None:
                self.line.close()
            self.call.release()

    def _line(self, runner: CallRunner) -> ln.Line:
        return ln.Line(
            feed=runner.feed,
            rate=PHONE_RATE,
            started_at=self.started_at,
            prompt_audio=lambda say: prompt_audio(self.prompts, say, PHONE_RATE),
            recognizer_for=lambda language: self.recognizers(runner, language, PHONE_RATE),
            keep_recording=self._keep_description,
            can_give_up=self.transfer_mode == "bridge",
        )

    def _clock(self) -> float:
        return time.monotonic() - self.started

    def _step(self, line: ln.Line) -> None:
        due = line.next_timer()
        wait = IDLE_SECONDS if due is None else min(IDLE_SECONDS, max(0.0, due - self._clock()))
        with contextlib.suppress(queue.Empty):
            self._on(self.call.events.get(timeout=wait), line)
        line.elapse(max(0.0, self._clock() - line.elapsed))
        self._obey()
        transfer = self.transfer
        if (
            transfer
            and not (transfer.bridged or transfer.busy)
            and time.monotonic() > transfer.deadline
        ):
            self._stop_ringing("the transfer rang out")
        heard = self.call.media.last_heard or self.started
        if not self.done and time.monotonic() - heard > self.media_timeout:
            log.warning(
                "SIP call %s: no RTP for %.0f s, ending it", self.call.call_id, self.media_timeout
            )
            line.hung_up()
            self._hang_up()

    def _on(self, item: LineEvent, line: ln.Line) -> None:
        match item:
            case Heard(pcm=pcm):
                if self.transfer is None:
                    line.heard(pcm, clocked=False)
                elif self.transfer.bridged and self.transfer.agent is not None:
                    relay(self.transfer.agent.media.playout, pcm)
            case KeyPressed(key=key) if self.transfer is None:
                line.key(key)
            case KeyPressed(key=key) if key == ln.GIVE_UP_KEY and self._ringing():
                self._stop_ringing("the caller gave up waiting for the transfer")
            case Played(mark=mark) if mark == BUSY_MARK:
                self._transfer_ended("busy")
            case Played(mark=mark):
                line.played(mark)
            case MediaEnded():
                line.hung_up()
                self.done = True
            case FromAgent(event=Heard(pcm=pcm)) if self.transfer and self.transfer.bridged:
                relay(self.call.media.playout, pcm)
            case FromAgent(event=MediaEnded()) if self.transfer and self.transfer.bridged:
                log.info("SIP call %s: the agent hung up", self.call.call_id)
                self._hang_up()
            case LegAnswered() if self.transfer is not None:
                self.transfer.bridged = True
                self.call.media.playout.clear()
                line.transfer_finished("answered")
            case LegFailed(status=status) if self.transfer is not None:
                if transfer_result(status) == "busy":
                    self._busy_tone(self.transfer)
                else:
                    self._transfer_ended(transfer_result(status))
            case ReferProgress(status=status) if self.transfer is not None:
                self._refer_progress(status)

    def _obey(self) -> None:
        """Carry out what the line asks of the channel."""
        assert self.line is not None
        for command in self.line.take():
            match command:
                case ln.Play(pcm=pcm, mark=mark):
                    self.call.media.playout.add(pcm, mark)
                case ln.Flush():
                    self.call.media.playout.clear()
                case ln.Connect(transfer=transfer):
                    self._transfer(transfer)
                case ln.End():
                    self._hang_up()
                case ln.RecordCall():
                    self.call.media.record_call()

    def _keep_description(self, pcm: bytes) -> str | None:
        assert self.runner is not None and self.line is not None
        wav = wav_bytes(pcm, PHONE_RATE)
        return self.recordings.save_wav(self.runner.call_id, "description", wav, self.line.now).id

    def _transfer(self, action: act.Transfer) -> None:
        """REFER, or a second leg bridged by relaying its audio (DESIGN §8); ringback meanwhile."""
        target = action.target
        user = target.removeprefix("sip:").removeprefix("sips:").partition("@")[0]
        self.transfer = Transfer(deadline=time.monotonic() + self.ring_seconds)
        log.info("SIP call %s: transfer to %s (%s)", self.call.call_id, target, self.transfer_mode)
        if self.transfer_mode == "refer":
            uri = target if target.startswith("sip") else f"sip:{target}@{self.registrar}"
            self.call.refer(uri)
        else:
            self.call.media.playout.add(progress_tone(RINGBACK, self.ring_seconds), None)
            self.transfer.agent = self.call.phone.dial(user, self.call.events)

    def _refer_progress(self, status: int) -> None:
        """202 (the REFER is taken) and 1xx (ringing) wait; 2xx connected; others failed."""
        if status == 202 or status < 200:
            return
        result = transfer_result(status)
        self._transfer_ended(result)
        if result == "answered":
            self._hang_up()  # the caller is with the target now: our leg leaves

    def _ringing(self) -> bool:
        """A bridged transfer's second leg is ringing (a REFER's is the PBX's to end)."""
        transfer = self.transfer
        return bool(transfer and transfer.agent and not transfer.bridged and not transfer.busy)

    def _busy_tone(self, transfer: Transfer) -> None:
        """Busy sounds busy: the busy tone in place of the ringing, then the flow goes on."""
        transfer.busy = True
        self.call.media.playout.clear()
        self.call.media.playout.add(progress_tone(BUSY, BUSY_SECONDS), BUSY_MARK)

    def _stop_ringing(self, why: str) -> None:
        """Cancel a transfer that rings (no answer): the flow goes on."""
        log.info("SIP call %s: %s", self.call.call_id, why)
        if self.transfer is not None and self.transfer.agent is not None:
            self.transfer.agent.cancel()
        self._transfer_ended("no-answer")

    def _transfer_ended(self, result: ev.TransferResult) -> None:
        """The transfer will not be bridged: the flow goes on (no answer → a callback offer)."""
        if self.transfer is not None and self.transfer.agent is not None:
            self.transfer.agent.release()
        self.transfer = None
        self.call.media.playout.clear()  # the ringback
        assert self.line is not None
        self.line.transfer_finished(result)
        self._obey()

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
        at = self.line.now if self.line is not None else utc_now()
        stored = self.recordings.save_wav(self.runner.call_id, "call", recorder.wav(), at)
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
