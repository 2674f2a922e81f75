"""The line machine: what a phone line does between the engine and every channel (sans-I/O).

A channel (Twilio Media Streams, the browser phone, SIP, the terminal) keeps only its codec
and transport. It tells the line what happened on the wire, one thing at a time: audio heard
from the caller (`heard`), a key (`key`), a prompt's audio played out (`played`), a transfer's
end, the caller gone. The line turns that into engine events, carries out the engine's line
actions, and leaves commands for the channel in `commands`: play this audio then report this
mark, flush what is queued, connect the transfer, hang up, record the call.

What callers expect, kept here once for every channel:
- Time is the line's media clock: the caller's audio heard (or time the channel says has
  passed). Timers expire as it passes, so a no-input timer the engine starts when a prompt
  has played counts from the end of that prompt on every channel.
- A prompt has played when the channel reports its mark (Twilio echoes it after playing the
  audio before it); only then does the engine hear PromptFinished. A hang-up or a transfer
  waits for the prompts before it ("Connecting you…" is heard in full).
- Barge-in: a key, or the caller's voice when the Listen allows it, flushes what is queued;
  input the engine answers with a new prompt flushes the old ones too (a decline during the
  recording notice). Marks of flushed prompts are ignored when they come back.
- Keys go to the engine one at a time. After an entry completed on its last digit, a `#`
  the prompt asked for ("… then hash") is swallowed instead of reaching the next step.
- The recogniser is the line's, one per language. Its own no-speech time counts from the
  Listen, not from the prompt's end, so its NoSpeech only counts after the caller started
  speaking; silence is the engine's no-input timer.
- Record: after the prompts, a beep, then the caller's audio until a key, silence after
  sound, or the limit; a key during the prompt skips to the beep. Trailing silence is not
  kept; a recording without voice is reported as nothing said.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.ports import Recognizer
from speech.audio import SAMPLE_WIDTH, level, seconds

BEEP_MARK = "\0beep"
"""The line's own mark: the beep before a recording has played; never shown to the engine."""
BEEP_SECONDS = 0.25
BEEP_HZ = 1000
GIVE_UP_KEY = "*"
"""Pressed while a transfer rings (or while its prompt plays), on channels that can stop it
(SIP bridging, the terminal): stop waiting; it counts as no answer, so the flow goes on
(e.g. to a callback offer)."""
TRAILING_HASH_SECONDS = 3.0
"""How long after an entry completed on its last digit a `#` is still taken as its end."""
RECORD_SILENCE_SECONDS = 4.0
"""Silence after the caller's words that ends a recording (Twilio's `<Record>` uses 5 s)."""
RECORD_NOTHING_SECONDS = 8.0
"""Silence from the beep that ends a recording nobody speaks into."""
KEPT_SILENCE_SECONDS = 0.5
"""Silence kept after the last sound of a recording."""
SOUND_WINDOW_SECONDS = 0.02
SOUND_LEVEL = 300.0
"""RMS level (of 32,768) from which a recording's window holds sound, about -40 dBFS: a
phone line's own noise stays below it, a voice at any distance from the phone above."""


@dataclass(frozen=True)
class Play:
    """Queue `pcm` (16-bit mono at the line's rate), then report `mark` once it has played."""

    pcm: bytes
    mark: str


@dataclass(frozen=True)
class Flush:
    """Drop the audio still queued (barge-in); its marks will not be reported."""


@dataclass(frozen=True)
class Connect:
    """The prompts have played: put the caller through to the transfer's target now."""

    transfer: act.Transfer


@dataclass(frozen=True)
class End:
    """The prompts have played: hang up."""


@dataclass(frozen=True)
class RecordCall:
    """Keep the whole call's audio from now (the caller heard the notice, did not decline)."""


Command = Play | Flush | Connect | End | RecordCall


def beep(rate: int) -> bytes:
    samples = int(BEEP_SECONDS * rate)
    values = (int(8000 * math.sin(2 * math.pi * BEEP_HZ * n / rate)) for n in range(samples))
    return b"".join(v.to_bytes(2, "little", signed=True) for v in values)


@dataclass
class _Recording:
    """A Record under way: waiting for the prompts, for the beep, then capturing."""

    action: act.Record
    rate: int
    phase: Literal["prompts", "beep", "capturing"] = "prompts"
    started: float = 0.0
    pcm: bytearray = field(default_factory=bytearray)
    sounded_until: int = 0
    """Bytes of `pcm` up to the end of the last window with sound (0: none yet)."""

    def capture(self, pcm: bytes) -> None:
        """Keep the caller's audio and follow where their sound ends (any sound: a
        description is kept whole, whatever the caller's voice or line)."""
        size = round(SOUND_WINDOW_SECONDS * self.rate) * SAMPLE_WIDTH
        for offset in range(0, len(pcm), size):
            window = pcm[offset : offset + size]
            self.pcm += window
            if level(window) >= SOUND_LEVEL:
                self.sounded_until = len(self.pcm)

    def silent_seconds(self) -> float:
        return (len(self.pcm) - self.sounded_until) / (self.rate * SAMPLE_WIDTH)

    def kept(self) -> bytes:
        """The audio up to a little after the last sound; nothing when there was none."""
        if not self.sounded_until:
            return b""
        tail = round(KEPT_SILENCE_SECONDS * self.rate) * SAMPLE_WIDTH
        return bytes(self.pcm[: self.sounded_until + tail])


Feed = Callable[[ev.Event], list[act.Action]]
"""The engine behind its shell (`CallRunner.feed`): one event in, the line actions out."""


@dataclass
class Line:
    """One call's line: the channel's input methods in, `commands` out (see the module)."""

    feed: Feed
    rate: int
    started_at: datetime
    prompt_audio: Callable[[act.Say], bytes]
    """A prompt's audio at the line's rate."""
    recognizer_for: Callable[[str], Recognizer | None]
    """The recogniser of a language at the line's rate (None: keypad-only)."""
    keep_recording: Callable[[bytes], str | None]
    """Keep a description's 16-bit PCM; its recording id (None when not kept)."""
    observe: Callable[[act.Action], None] | None = None
    """Sees every line action carried out (the terminal prints them)."""
    can_give_up: bool = False
    """The channel stops a ringing transfer on GIVE_UP_KEY; pressed while the transfer's own
    prompt still plays (which says so), the transfer is given up before it is dialled."""
    elapsed: float = 0.0
    """Seconds of line time since the call started: the media clock."""
    commands: list[Command] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    """Marks of queued prompts not yet played, in order."""
    timers: dict[str, float] = field(default_factory=dict)
    listen: act.Listen | None = None
    recognizer: Recognizer | None = None
    recognizer_language: str | None = None
    speech_started: bool = False
    digits_keyed: int = 0
    hash_until: float | None = None
    """A `#` until then ends the entry that completed on its last digit: swallowed."""
    recording: _Recording | None = None
    transfer: act.Transfer | None = None
    """A transfer: waiting for its prompt, then under way until `transfer_finished`."""
    connected: bool = False
    hanging_up: bool = False
    done: bool = False
    """The line is over (hung up, gone, or put through); nothing more reaches the engine."""

    @property
    def now(self) -> datetime:
        return self.started_at + timedelta(seconds=self.elapsed)

    def take(self) -> list[Command]:
        """The commands left for the channel since the last take, in order."""
        out, self.commands = self.commands, []
        return out

    # -- what happens on the wire ---------------------------------------------------------

    def carry_out(self, actions: list[act.Action]) -> None:
        """Line actions from the engine (the first of a call, or a webhook's)."""
        for action in actions:
            if self.observe is not None:
                self.observe(action)
            self._carry_out(action)
        self._after_prompts()

    def heard(self, pcm: bytes, *, clocked: bool = True) -> None:
        """The caller's audio: the clock moves on by its length, unless the channel keeps the
        clock itself (`elapse`: SIP, whose caller may send no RTP while silent)."""
        if clocked:
            self.elapsed += seconds(pcm, self.rate)
        if not self.done and self.transfer is None:
            if self.recording is not None:
                self._record(pcm)
            elif self.recognizer is not None and self.listen is not None:
                self._recognise(pcm)
        self._expire_timers()

    def elapse(self, duration: float) -> None:
        """Line time passes without audio (the terminal's silence); timers expire in order."""
        end = self.elapsed + duration
        while (due := self.next_timer()) is not None and due <= end and not self.done:
            self.elapsed = max(self.elapsed, due)
            self._expire_timers()
        self.elapsed = end

    def next_timer(self) -> float | None:
        """When the next timer expires, in line time."""
        return min(self.timers.values(), default=None)

    def key(self, digit: str) -> None:
        """One key the caller pressed."""
        if self.done:
            return
        if self.transfer is not None:
            if digit == GIVE_UP_KEY and self.can_give_up and not self.connected:
                self._flush()
                self.transfer_finished("no-answer")
            return
        swallow = digit == "#" and self.hash_until is not None and self.elapsed <= self.hash_until
        self.hash_until = None
        if swallow:
            return
        if self.recording is not None:
            self._key_while_recording()
            return
        if self.listen is not None and self.listen.barge_in:
            self._flush()
        completes = self._completes_entry(digit)
        self._input(ev.DigitsPressed(at=self.now, digits=digit))
        if completes:
            self.hash_until = self.elapsed + TRAILING_HASH_SECONDS

    def said(self, text: str, confidence: float = 1.0) -> None:
        """Speech recognised outside the line (typed at the terminal)."""
        if self.done or self.transfer is not None or self.recording is not None:
            return
        if self.listen is not None and self.listen.barge_in:
            self._flush()
        self._input(ev.SpeechRecognized(at=self.now, text=text, confidence=confidence))

    def recognised(self, event: ev.Event) -> None:
        """An event of a recogniser (the line's own, or the terminal's for a WAV)."""
        listen = self.listen
        if isinstance(event, ev.SpeechStarted):
            self.speech_started = True
            if listen is not None and listen.barge_in:
                self._flush()
            self._feed(event)
        elif isinstance(event, ev.NoSpeech) and not self.speech_started:
            if self.recognizer is not None and listen is not None:
                self.recognizer.listen(listen)  # silence is the engine's timer to judge
        elif isinstance(event, ev.NoSpeech):
            self._feed(event)
        else:
            self._input(event)

    def played(self, mark: str) -> None:
        """The channel played the audio up to `mark`."""
        if mark not in self.marks:
            return  # flushed, or not ours
        del self.marks[: self.marks.index(mark) + 1]
        if mark == BEEP_MARK:
            self._capture()
        elif not self.hanging_up:  # after HangUp the engine has ended
            self._feed(ev.PromptFinished(at=self.now, mark=mark))
        self._after_prompts()

    def recorded(
        self, recording_id: str | None, length: float, transcript: str | None = None
    ) -> None:
        """The recording ended: kept as `recording_id`, or typed (the terminal's `say:`)."""
        if self.recording is None:
            return
        self.recording = None
        finished = ev.RecordingFinished(
            at=self.now, recording_id=recording_id, seconds=length, transcript=transcript
        )
        self._feed(finished)

    def transfer_finished(self, result: ev.TransferResult) -> None:
        """How the transfer ended; unless answered, the flow goes on."""
        if self.transfer is None:
            return
        self.transfer, self.connected = None, False
        self._feed(ev.TransferFinished(at=self.now, result=result))
        if result == "answered":
            self.done = True

    def hung_up(self) -> None:
        """The caller is gone. A description being recorded is kept (for the draft ticket)."""
        if self.done:
            return
        if self.recording is not None and self.recording.phase == "capturing":
            self._end_recording()
        self._feed(ev.CallerHungUp(at=self.now))
        self.done = True

    def close(self) -> None:
        """Free the recogniser (the call is over)."""
        if self.recognizer is not None:
            self.recognizer.close()
        self.recognizer = self.recognizer_language = None

    # -- the engine's actions -------------------------------------------------------------

    def _carry_out(self, action: act.Action) -> None:
        match action:
            case act.Say():
                self.marks.append(action.mark)
                self.commands.append(Play(self.prompt_audio(action), action.mark))
            case act.Listen():
                self._listen(action)
            case act.Record():
                self._stop_listening()
                self.recording = _Recording(action, self.rate)
            case act.StartTimer():
                self.timers[action.name] = self.elapsed + action.seconds
            case act.CancelTimer():
                self.timers.pop(action.name, None)
            case act.Transfer():
                self._stop_listening()
                self.transfer = action
            case act.HangUp():
                self._stop_listening()
                self.hanging_up = True
            case act.StartCallRecording():
                self.commands.append(RecordCall())

    def _listen(self, listen: act.Listen) -> None:
        self.listen, self.digits_keyed, self.speech_started = listen, 0, False
        if listen.language != self.recognizer_language:
            if self.recognizer is not None:
                self.recognizer.close()
            self.recognizer_language = listen.language
            self.recognizer = self.recognizer_for(listen.language)
        if self.recognizer is not None:
            self.recognizer.listen(listen)

    def _stop_listening(self) -> None:
        self.listen = None

    def _after_prompts(self) -> None:
        """What waits for the prompts to be heard: the beep, a transfer, the hang-up."""
        if self.marks:
            return
        if self.recording is not None and self.recording.phase == "prompts":
            self._beep()
        elif self.transfer is not None and not self.connected and not self.done:
            self.connected = True
            self.commands.append(Connect(self.transfer))
        elif self.hanging_up and not self.done:
            self.done = True
            self.commands.append(End())

    def _beep(self) -> None:
        assert self.recording is not None
        if self.recording.action.beep:
            self.recording.phase = "beep"
            self.marks.append(BEEP_MARK)
            self.commands.append(Play(beep(self.rate), BEEP_MARK))
        else:
            self._capture()

    def _capture(self) -> None:
        """The caller heard the beep (or there is none): from now on a key ends the recording,
        a `#` included."""
        if self.recording is not None:
            self.recording.phase, self.recording.started = "capturing", self.elapsed
            self.hash_until = None

    # -- input ----------------------------------------------------------------------------

    def _input(self, event: ev.Event) -> None:
        """A caller's answer: a new prompt it brings replaces what was still playing."""
        if self.done:
            return
        actions = self.feed(event)
        if any(isinstance(a, act.Say) for a in actions):
            self._flush()
        self.carry_out(actions)

    def _feed(self, event: ev.Event) -> None:
        if not self.done:
            self.carry_out(self.feed(event))

    def _flush(self) -> None:
        if self.marks:
            self.marks.clear()
            self.commands.append(Flush())

    def _completes_entry(self, digit: str) -> bool:
        """Whether this key is the last digit of an entry whose prompt asks for a `#`."""
        listen = self.listen
        if listen is None or "#" not in listen.keys or not digit.isdigit():
            self.digits_keyed = 0
            return False
        self.digits_keyed += 1
        return self.digits_keyed >= listen.max_digits

    def _recognise(self, pcm: bytes) -> None:
        assert self.recognizer is not None
        for event in self.recognizer.accept(pcm, self.now):
            self.recognised(event)
            if self.done or self.listen is None or self.recording is not None:
                return

    def _expire_timers(self) -> None:
        for name, due in sorted(self.timers.items(), key=lambda item: item[1]):
            if due <= self.elapsed and self.timers.pop(name, None) is not None:
                self._feed(ev.TimerExpired(at=self.now, name=name))

    # -- recordings -----------------------------------------------------------------------

    def _key_while_recording(self) -> None:
        """A key ends the recording; before the beep it skips the rest of the prompt."""
        assert self.recording is not None
        if self.recording.phase == "capturing":
            self._end_recording()
        elif self.recording.phase == "prompts":
            self._flush()
            self._after_prompts()

    def _record(self, pcm: bytes) -> None:
        recording = self.recording
        assert recording is not None
        if recording.phase != "capturing":
            return
        recording.capture(pcm)
        length = self.elapsed - recording.started
        silent = recording.silent_seconds()
        if (
            length >= recording.action.max_seconds
            or (recording.sounded_until and silent >= RECORD_SILENCE_SECONDS)
            or (not recording.sounded_until and silent >= RECORD_NOTHING_SECONDS)
        ):
            self._end_recording()

    def _end_recording(self) -> None:
        assert self.recording is not None
        pcm = self.recording.kept()
        recording_id = self.keep_recording(pcm) if pcm else None
        self.recorded(recording_id, seconds(pcm, self.rate))
