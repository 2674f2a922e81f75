"""The terminal channel behind `ivr call`: typed lines are what the caller says or keys.

Inputs follow DESIGN §10: `keys:12#`, `say:text`, `wav:PATH`, `silence`; a bare value of
only digits, `*` and `#` is keys, other bare text is speech, an empty value is silence.
`transfer:answered|no-answer|busy|failed` says how a transfer ends; `*` while it rings gives
up waiting (no answer, as on SIP); any other input means it was answered.

The line is the one every channel shares (`ivr.channels.line`); the terminal is its phone:
keys go one at a time, as a phone sends them (`keys:3#` is a 3, then a #); a prompt has
"played" the moment it is printed, except the recording notice, which cannot be barged in:
it is playing until the next line, which is taken while it plays when it means something
there (a decline), else after it. Silence lasts until the running timer expires.

A call placed at a chosen time (`ivr call --at`) runs on simulated time: a key takes half a
second, a word 0.4 s, so the call runs at once and the same inputs always give the same
call; what it queues (the SMS copy) is due at that simulated time. Otherwise the call runs
on the real clock, at the caller's own pace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from ivr.calls.runner import CallRunner, CallServices, Observer
from ivr.channels import line as ln
from ivr.clock import utc_now
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.ports import Recognizer, RecordingStore

SECONDS_PER_KEY = 0.5
SECONDS_PER_WORD = 0.4
SILENCE_SECONDS = 2.0
"""Silence when no timer runs (the call waits on nothing the caller could end)."""
SPEECH_CHUNK_SECONDS = 0.1
PHONE_LINE_RATE = 8000
TRANSFER_RESULTS = ("answered", "no-answer", "busy", "failed")


class InputError(ValueError):
    """An input line that is not in the grammar (a missing WAV file, an unknown prefix)."""


@dataclass(frozen=True)
class Input:
    kind: str
    """keys, say, wav, silence or transfer"""
    value: str = ""


def parse_input(line: str) -> Input:
    text = line.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix in ("keys", "say", "wav", "transfer"):
        if prefix == "keys" and (not rest or set(rest) - set("0123456789*#")):
            raise InputError(f"not keys: {rest!r}")
        if prefix == "transfer" and rest not in TRANSFER_RESULTS:
            raise InputError(f"transfer ends with one of {', '.join(TRANSFER_RESULTS)}")
        return Input(prefix, rest)
    if text in ("", "silence"):
        return Input("silence")
    if not set(text) - set("0123456789*#"):
        return Input("keys", text)
    return Input("say", text)


def transfer_result(given: Input) -> ev.TransferResult:
    """How the transfer ringing when `given` came ends: as typed (`transfer:busy`), no answer
    when the caller gives up with `*`, else answered (the caller talks to the department)."""
    if given.kind == "transfer":
        return cast(ev.TransferResult, given.value)
    if given.kind == "keys" and given.value.startswith(ln.GIVE_UP_KEY):
        return "no-answer"
    return "answered"


@dataclass
class TerminalCall:
    """One call driven by lines of input; `show` receives every line action."""

    services: CallServices
    recordings: RecordingStore
    show: Callable[[act.Action], None]
    now: datetime
    simulated: bool = False
    speech: Callable[[str], Recognizer] | None = None
    """The recogniser for a language (raises InputError when it has no model)."""
    read_audio: Callable[[Path], bytes] | None = None
    """A WAV file as 8 kHz 16-bit mono PCM (raises InputError when it cannot be used)."""
    runner: CallRunner | None = None
    line: ln.Line | None = None
    held: list[str] = field(default_factory=list)
    """Marks of the notice, which cannot be barged in: still playing until the next input."""
    transferring: bool = False

    def start(
        self, *, caller: str | None, language: str | None, observe: Observer | None = None
    ) -> None:
        self.runner, actions = CallRunner.start(
            self.services,
            caller=caller,
            channel="terminal",
            at=self.now,
            language=language,
            observe=observe,
            can_give_up=True,
        )
        self.line = ln.Line(
            feed=self.runner.feed,
            rate=PHONE_LINE_RATE,
            started_at=self.now,
            prompt_audio=lambda say: b"",
            recognizer_for=lambda language: None,  # typed speech; a WAV has its own (`_speak`)
            keep_recording=lambda pcm: None,
            observe=self.show,
        )
        self.line.carry_out(actions)
        self._play()

    def summary(self) -> dict[str, Any]:
        assert self.runner is not None
        return self.runner.summary()

    @property
    def ended(self) -> bool:
        return self.runner is not None and self.runner.session.ended

    def answer(self, given: Input) -> None:
        """What the caller does next."""
        line = self._line()
        self._catch_up()
        if self.transferring:
            self.transferring = False
            line.transfer_finished(transfer_result(given))
        elif line.recording is not None:
            self._record(given)
        elif given.kind == "transfer":
            raise InputError("no transfer is under way")
        elif given.kind == "silence":
            self._heard_all()
            due = line.next_timer()
            line.elapse(SILENCE_SECONDS if due is None else due - line.elapsed)
        else:
            self._during_notice(given.kind, lambda: self._act(given))
        self._play()

    def wait(self, seconds: float) -> None:
        """The caller stays silent for `seconds` of line time, hearing any notice through."""
        self._heard_all()
        self._line().elapse(seconds)
        self._play()

    def hang_up(self) -> None:
        """The caller is done; a transfer still ringing counts as answered."""
        line = self._line()
        self._catch_up()
        if self.transferring:
            self.transferring = False
            line.transfer_finished("answered")
        line.hung_up()

    def _line(self) -> ln.Line:
        assert self.line is not None, "the call has not started"
        return self.line

    def _act(self, given: Input) -> None:
        line = self._line()
        match given.kind:
            case "keys":
                for key in given.value:
                    line.key(key)
                    self._elapse(SECONDS_PER_KEY)
            case "say":
                self._elapse(SECONDS_PER_WORD * len(given.value.split()))
                line.said(given.value)
            case "wav":
                self._speak(Path(given.value))

    def _during_notice(self, kind: str, act_out: Callable[[], None]) -> None:
        """Keys or words while the notice plays are taken there when they mean something (the
        line flushed the notice for a new prompt); otherwise they come after the notice."""
        if self.held:
            if kind in ("keys", "say"):
                act_out()
                if not any(mark in self._line().marks for mark in self.held):  # flushed
                    self.held = []
                    return
            self._heard_all()
        act_out()

    def _heard_all(self) -> None:
        """The notice still playing has been heard to its end."""
        held, self.held = self.held, []
        for mark in held:
            self._line().played(mark)
        self._play()

    def _play(self) -> None:
        """Carry out what the line asks: print (via `show`) and "play" at once."""
        line = self._line()
        while commands := line.take():
            for command in commands:
                match command:
                    case ln.Play(mark=mark) if line.listen is not None and not line.listen.barge_in:
                        self.held.append(mark)
                    case ln.Play(mark=mark):
                        line.played(mark)
                    case ln.Connect():
                        self.transferring = True

    def _record(self, given: Input) -> None:
        """A description: typed (its transcript), a WAV file, a key, or silence."""
        line, runner = self._line(), self.runner
        assert runner is not None
        match given.kind:
            case "wav":
                path = Path(given.value)
                if not path.is_file():
                    raise InputError(f"no such WAV file: {path}")
                stored = self.recordings.save_wav(
                    runner.call_id, "description", path.read_bytes(), line.now
                )
                self._elapse(stored.seconds)
                line.recorded(stored.id, stored.seconds)
            case "say":
                seconds = SECONDS_PER_WORD * len(given.value.split())
                self._elapse(seconds)
                line.recorded(None, seconds, transcript=given.value)
            case "keys":
                line.key(given.value[0])
            case _:
                self._elapse(SILENCE_SECONDS)
                line.recorded(None, 0.0)

    def _speak(self, path: Path) -> None:
        """Feed a WAV through a recogniser of its own as the caller's speech, until it
        answers; the recogniser is closed after the turn."""
        listen = self._line().listen
        if self.speech is None or self.read_audio is None or listen is None:
            raise InputError("a WAV as speech needs a recogniser (the call is not listening)")
        pcm = self.read_audio(path)
        recognizer = self.speech(listen.language)
        try:
            self._recognise(recognizer, listen, pcm)
        finally:
            recognizer.close()

    def _recognise(self, recognizer: Recognizer, listen: act.Listen, pcm: bytes) -> None:
        line = self._line()
        recognizer.listen(listen)
        chunk = int(SPEECH_CHUNK_SECONDS * PHONE_LINE_RATE) * 2
        for offset in range(0, len(pcm), chunk):
            self._elapse(SPEECH_CHUNK_SECONDS)
            events = recognizer.accept(pcm[offset : offset + chunk], line.now)
            for event in events:
                line.recognised(event)
            if events and not isinstance(events[-1], ev.SpeechStarted):
                return
        for event in recognizer.finish(line.now):
            line.recognised(event)

    def _elapse(self, seconds: float) -> None:
        """The caller's input takes line time: simulated, or the real clock's."""
        if self.simulated:
            self._line().elapse(seconds)

    def _catch_up(self) -> None:
        """On the real clock, the line's time is now, however long the caller took (its
        timers only run in the silences the caller types)."""
        line = self._line()
        if not self.simulated:
            line.started_at += max(utc_now() - line.now, timedelta(0))
