"""The terminal channel behind `ivr call`: typed lines are what the caller says or keys.

Inputs follow DESIGN §10: `keys:12#`, `say:text`, `wav:PATH`, `silence`; a bare value of
only digits, `*` and `#` is keys, other bare text is speech, an empty value is silence.
`transfer:answered|no-answer|busy|failed` says how a transfer ends (answered by default).

A call placed at a chosen time (`ivr call --at`) runs on simulated time: each input takes
two seconds and silence lasts as long as the timer that is running, so the call runs at once
and the same inputs always give the same call; what it queues (the SMS copy) is due at that
simulated time. Otherwise the call runs on the real clock, at the caller's own pace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ivr.calls import CallRunner, CallServices, Observer
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.ports import Recognizer, RecordingStore

SECONDS_PER_INPUT = 2.0
SECONDS_PER_WORD = 0.4
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


@dataclass
class TerminalCall:
    """One call driven by lines of input; `show` receives every line action."""

    services: CallServices
    recordings: RecordingStore
    show: Callable[[act.Action], None]
    now: datetime
    simulated: bool = False
    runner: CallRunner | None = None
    timers: dict[str, float] = field(default_factory=dict)
    waiting_for: str = "input"
    """input, recording or transfer: what the next line answers."""
    speech: Callable[[str], Recognizer] | None = None
    """The recogniser for a language (raises InputError when it has no model)."""
    read_audio: Callable[[Path], bytes] | None = None
    """A WAV file as 8 kHz 16-bit mono PCM (raises InputError when it cannot be used)."""
    listen: act.Listen | None = None
    unheard: str | None = None
    """The mark of a prompt that cannot be barged in (the recording notice): it is "playing"
    until the next line, which is taken while it plays when it means something there (a
    decline), else after it."""

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
        )
        self._carry_out(actions)

    def summary(self) -> dict[str, Any]:
        assert self.runner is not None
        return self.runner.summary()

    @property
    def ended(self) -> bool:
        return self.runner is not None and self.runner.session.ended

    def answer(self, line: Input) -> None:
        """What the caller does next."""
        if self.unheard is not None:
            return self._during_prompt(line)
        if self.waiting_for == "transfer":
            result = line.value if line.kind == "transfer" else "answered"
            return self._send(ev.TransferFinished(at=self._tick(), result=result))  # type: ignore[arg-type]
        if self.waiting_for == "recording":
            return self._send(self._recording(line))
        match line.kind:
            case "keys":
                self._send(ev.DigitsPressed(at=self._tick(), digits=line.value))
            case "say":
                self._send(ev.SpeechRecognized(at=self._tick(), text=line.value))
            case "silence":
                self._silence()
            case "wav":
                self._speak(Path(line.value))
            case "transfer":
                raise InputError("no transfer is under way")

    def _during_prompt(self, line: Input) -> None:
        assert self.runner is not None and self.unheard is not None
        mark, self.unheard = self.unheard, None
        if line.kind in ("keys", "say"):
            event: ev.Event = (
                ev.DigitsPressed(at=self._tick(), digits=line.value)
                if line.kind == "keys"
                else ev.SpeechRecognized(at=self._tick(), text=line.value)
            )
            taken = self.runner.feed(event)
            if taken:
                return self._carry_out(taken)
        self._send(ev.PromptFinished(at=self.now, mark=mark))
        self.answer(line)

    def hang_up(self) -> None:
        """The caller is done; a transfer still ringing counts as answered."""
        if not self.ended and self.waiting_for == "transfer":
            self._send(ev.TransferFinished(at=self._tick(), result="answered"))
        if not self.ended:
            self._send(ev.CallerHungUp(at=self._tick()))

    def _recording(self, line: Input) -> ev.Event:
        assert self.runner is not None
        if line.kind == "wav":
            path = Path(line.value)
            if not path.is_file():
                raise InputError(f"no such WAV file: {path}")
            stored = self.recordings.save_wav(
                self.runner.call_id, "description", path.read_bytes(), self.now
            )
            return ev.RecordingFinished(
                at=self._tick(stored.seconds), recording_id=stored.id, seconds=stored.seconds
            )
        if line.kind == "say":
            seconds = SECONDS_PER_WORD * len(line.value.split())
            return ev.RecordingFinished(
                at=self._tick(seconds), recording_id=None, seconds=seconds, transcript=line.value
            )
        return ev.RecordingFinished(at=self._tick(5), recording_id=None, seconds=0.0)

    def _speak(self, path: Path) -> None:
        """Feed a WAV through a recogniser of its own as the caller's speech, until it
        answers; the recogniser is closed after the turn."""
        if self.speech is None or self.read_audio is None or self.listen is None:
            raise InputError("a WAV as speech needs a recogniser (the call is not listening)")
        pcm = self.read_audio(path)
        recognizer = self.speech(self.listen.language)
        try:
            self._recognise(recognizer, self.listen, pcm)
        finally:
            recognizer.close()

    def _recognise(self, recognizer: Recognizer, listen: act.Listen, pcm: bytes) -> None:
        recognizer.listen(listen)
        chunk = int(SPEECH_CHUNK_SECONDS * PHONE_LINE_RATE) * 2
        for offset in range(0, len(pcm), chunk):
            at = self._tick(SPEECH_CHUNK_SECONDS)
            events = recognizer.accept(pcm[offset : offset + chunk], at)
            if events:
                for event in events:
                    self._send(event)
                if not isinstance(events[-1], ev.SpeechStarted):
                    return
        for event in recognizer.finish(self._tick(0)):
            self._send(event)

    def _silence(self) -> None:
        name = "inter_digit" if "inter_digit" in self.timers else next(iter(self.timers), None)
        if name is None:
            self._send(ev.NoSpeech(at=self._tick()))
            return
        self._send(ev.TimerExpired(at=self._tick(self.timers.pop(name)), name=name))

    def _tick(self, seconds: float = SECONDS_PER_INPUT) -> datetime:
        if self.simulated:
            self.now += timedelta(seconds=seconds)
        else:
            self.now = max(self.now, datetime.now(UTC))
        return self.now

    def _send(self, event: ev.Event) -> None:
        assert self.runner is not None
        self._carry_out(self.runner.feed(event))

    def _carry_out(self, actions: list[act.Action]) -> None:
        assert self.runner is not None
        for index, action in enumerate(actions):
            self.show(action)
            match action:
                case act.Say() if any(
                    isinstance(a, act.Listen) and not a.barge_in for a in actions[index + 1 :]
                ):
                    self.unheard = action.mark
                case act.Say():
                    # The terminal "plays" a prompt the moment it prints it.
                    self._carry_out(
                        self.runner.feed(ev.PromptFinished(at=self.now, mark=action.mark))
                    )
                case act.StartTimer():
                    self.timers[action.name] = action.seconds
                case act.CancelTimer():
                    self.timers.pop(action.name, None)
                case act.Listen():
                    self.waiting_for = "input"
                    self.listen = action
                case act.Record():
                    self.waiting_for = "recording"
                case act.Transfer():
                    self.waiting_for = "transfer"
