"""TwiML verbs other than `<Connect>`, carried out as Twilio documents them, on the line clock
of the faithful Twilio caller (`twilio_caller`): `<Say>`/`<Play>`/`<Pause>`, `<Gather>` and
`<Record>` (`<Dial>` is in `dial`). Each is a leg: it takes the caller's frames,
keys and words and says what Twilio requests when it is over. No I/O here: a `<Play>`'s
length comes from the function given to `prompts_of`.

Documented behaviour kept: keys stop the prompts nested in a `<Gather>` (speech too, unless
`bargeIn="false"`, when input during them is not taken); `finishOnKey` ends a `<Gather>`
without being part of `Digits`; `numDigits` ends it; `timeout` seconds of silence after the
prompts or the last key end it; without input it goes on to the next verb unless
`actionOnEmptyResult`. A `<Record>` ends on a `finishOnKey` key (posted as `Digits`), on
`timeout` seconds of silence or at `maxLength`; an empty recording makes no request.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from ivr.twilio_caller.line import (
    FRAME_SECONDS,
    CallerError,
    Frame,
    Heard,
    LineClock,
    Request,
    Then,
    Transcript,
    Words,
)

SAY_SECONDS_PER_CHARACTER = 0.07
"""How long Twilio takes to say a `<Say>` (its voices' pace, roughly)."""
BEEP_SECONDS = 0.5
"""The `<Record>` beep (Twilio does not document its length: an assumption)."""
EPSILON = 1e-9


@dataclass(frozen=True)
class Prompt:
    label: str
    """The `<Say>` text, the `<Play>` URL, or `pause`."""
    seconds: float


def prompts_of(
    verbs: list[ET.Element], document: str, play_seconds: Callable[[str], float]
) -> list[Prompt]:
    """What `<Say>`, `<Play>` and `<Pause>` verbs play, and for how long (a `<Play>` lasts as
    long as its media, which `play_seconds` fetches)."""
    prompts: list[Prompt] = []
    for verb in verbs:
        text = (verb.text or "").strip()
        loop = int(verb.get("loop", "1"))
        if loop < 1:
            raise CallerError(f"<{verb.tag} loop={loop}> plays for ever")
        match verb.tag:
            case "Say":
                prompt = Prompt(text, len(text) * SAY_SECONDS_PER_CHARACTER)
            case "Play":
                url = urljoin(document, text)
                prompt = Prompt(url, play_seconds(url))
            case "Pause":
                prompt = Prompt("pause", float(verb.get("length", "1")))
            case _:
                raise CallerError(f"<{verb.tag}> cannot be played")
        prompts += [prompt] * loop
    return prompts


@dataclass
class Playing:
    """Prompts played one after another, 20 ms at a time."""

    prompts: list[Prompt]
    played: float = 0.0
    """Seconds of the first prompt played so far."""

    def __post_init__(self) -> None:
        self.prompts = [p for p in self.prompts if p.seconds > 0]

    @property
    def done(self) -> bool:
        return not self.prompts

    def tick(self, at: float, transcript: Transcript) -> None:
        self.played += FRAME_SECONDS
        while self.prompts and self.played >= self.prompts[0].seconds - EPSILON:
            prompt = self.prompts.pop(0)
            self.played -= prompt.seconds
            transcript.add(Heard(at, prompt.label, round(prompt.seconds, 3)))

    def cut(self, at: float, transcript: Transcript) -> None:
        """Stop playing: the prompt under way is cut, those after it are never heard."""
        if self.prompts:
            transcript.add(Heard(at, self.prompts[0].label, round(self.played, 3), cut=True))
        self.prompts, self.played = [], 0.0


@dataclass
class VerbLeg:
    """What the verbs share: the clock, the transcript, and when the IVR owes an answer."""

    clock: LineClock
    transcript: Transcript
    then: Then | None = field(default=None, init=False)
    owed_until: float | None = field(default=None, init=False)

    def expect_reply(self, until: float) -> None:
        self.owed_until = until

    def settle(self, seconds: float) -> bool:
        return False  # the verb runs here: nothing to wait for

    def close(self) -> None:
        return None

    def hang_up(self) -> Then:
        return Then(hang_up="caller")

    def words(self, words: Words) -> bool:
        return self.then is None  # said to nobody who listens

    def _owed(self) -> bool:
        return self.owed_until is not None and self.clock.line < self.owed_until


@dataclass(kw_only=True)
class PlayLeg(VerbLeg):
    """`<Say>`, `<Play>` or `<Pause>` on its own: played to its end; keys are not taken."""

    playing: Playing

    def __post_init__(self) -> None:
        if self.playing.done:
            self.then = Then()

    def frame(self, frame: Frame) -> bool:
        if self.then is not None:
            return False
        self.playing.tick(self.clock.line, self.transcript)
        if self.playing.done:
            self.then = Then()
        return True

    def key(self, digit: str) -> bool:
        return self.then is None

    def busy(self) -> bool:
        return self.then is None


@dataclass(frozen=True)
class GatherVerb:
    action: str
    method: str
    timeout: float
    num_digits: int | None
    finish_on_key: str
    dtmf: bool
    speech: bool
    barge_in: bool
    action_on_empty: bool


def gather_verb(element: ET.Element, document: str) -> GatherVerb:
    inputs = element.get("input", "dtmf").split()
    digits = element.get("numDigits")
    return GatherVerb(
        action=urljoin(document, element.get("action", document)),
        method=element.get("method", "POST").upper(),
        timeout=float(element.get("timeout", "5")),
        num_digits=int(digits) if digits else None,
        finish_on_key=element.get("finishOnKey", "#"),
        dtmf="dtmf" in inputs,
        speech="speech" in inputs,
        barge_in=_flag(element, "bargeIn", default=True),
        action_on_empty=_flag(element, "actionOnEmptyResult", default=False),
    )


@dataclass(kw_only=True)
class GatherLeg(VerbLeg):
    gather: GatherVerb
    playing: Playing
    digits: str = ""
    waited: float = 0.0
    """Seconds of silence since the prompts ended or the last key."""

    def frame(self, frame: Frame) -> bool:
        if self.then is not None:
            return False
        at = self.clock.line
        if not self.playing.done:
            if frame.voiced and self.gather.speech and self.gather.barge_in:
                self.playing.cut(at, self.transcript)
            else:
                self.playing.tick(at, self.transcript)
            return True
        talking = frame.voiced and self.gather.speech
        self.waited = 0.0 if talking else self.waited + FRAME_SECONDS
        if self.waited >= self.gather.timeout - EPSILON:
            self._finish(key="")
        return True

    def key(self, digit: str) -> bool:
        if self.then is not None:
            return False
        if not self._taking(self.gather.dtmf):
            return True
        self.playing.cut(self.clock.line, self.transcript)
        if digit == self.gather.finish_on_key:
            self._finish(key=digit)
            return True
        self.digits, self.waited = self.digits + digit, 0.0
        if self.gather.num_digits and len(self.digits) >= self.gather.num_digits:
            self._finish(key="")
        return True

    def words(self, words: Words) -> bool:
        if self.then is not None:
            return False
        if self._taking(self.gather.speech):
            self.playing.cut(self.clock.line, self.transcript)
            self._submit({"SpeechResult": words.text, "Confidence": f"{words.confidence:.2f}"})
        return True

    def busy(self) -> bool:
        return self.then is None and (not self.playing.done or self._owed())

    def _taking(self, kind: bool) -> bool:
        """Input of this kind is taken now (not during prompts that may not be cut)."""
        return kind and (self.playing.done or self.gather.barge_in)

    def _finish(self, key: str) -> None:
        if self.digits:
            self._submit({"Digits": self.digits, "FinishedOnKey": key})
        elif self.gather.action_on_empty:
            self._submit({})
        else:
            self.then = Then()

    def _submit(self, params: dict[str, str]) -> None:
        self.then = Then(Request(self.gather.action, self.gather.method, params))


@dataclass(frozen=True)
class RecordVerb:
    action: str
    method: str
    timeout: float
    """Seconds of silence that end the recording (0: silence never does)."""
    max_length: float
    finish_on_key: str
    beep: bool
    trim: bool


def record_verb(element: ET.Element, document: str) -> RecordVerb:
    return RecordVerb(
        action=urljoin(document, element.get("action", document)),
        method=element.get("method", "POST").upper(),
        timeout=float(element.get("timeout", "5")),
        max_length=float(element.get("maxLength", "3600")),
        finish_on_key=element.get("finishOnKey", "1234567890*#"),
        beep=_flag(element, "playBeep", default=True),
        trim=element.get("trim", "trim-silence") == "trim-silence",
    )


@dataclass(kw_only=True)
class RecordLeg(VerbLeg):
    record: RecordVerb
    account_sid: str
    beep: Playing = field(default_factory=lambda: Playing([Prompt("beep", BEEP_SECONDS)]))
    elapsed: float = 0.0
    silent: float = 0.0
    voiced: tuple[float, float] | None = None
    """From the start of the first voiced frame to the end of the last."""

    def __post_init__(self) -> None:
        if not self.record.beep:
            self.beep = Playing([])

    def frame(self, frame: Frame) -> bool:
        if self.then is not None:
            return False
        if not self.beep.done:
            self.beep.tick(self.clock.line, self.transcript)
            return True
        self.elapsed += FRAME_SECONDS
        if frame.voiced:
            first = self.voiced[0] if self.voiced else self.elapsed - FRAME_SECONDS
            self.voiced, self.silent = (first, self.elapsed), 0.0
        else:
            self.silent += FRAME_SECONDS
        quiet_too_long = self.record.timeout and self.silent >= self.record.timeout - EPSILON
        if quiet_too_long or self.elapsed >= self.record.max_length - EPSILON:
            self._end(digits="")
        return True

    def key(self, digit: str) -> bool:
        if self.then is not None:
            return False
        if self.beep.done and digit in self.record.finish_on_key:
            self._end(digits=digit)
        return True

    def busy(self) -> bool:
        return self.then is None and (not self.beep.done or self._owed())

    def hang_up(self) -> Then:
        """Twilio keeps what was recorded and posts it, with Digits "hangup"."""
        if self.then is None and self.beep.done:
            self._end(digits="hangup")
            assert self.then is not None
            return Then(self.then.request, hang_up="caller")
        return Then(hang_up="caller")

    def _end(self, digits: str) -> None:
        if self.record.trim:
            seconds = self.voiced[1] - self.voiced[0] if self.voiced else 0.0
        else:
            seconds = self.elapsed
        if seconds <= 0:
            self.then = Then()  # an empty recording: no request, the next verb
            return
        sid = "RE" + uuid.uuid4().hex
        url = f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"
        params = {
            "RecordingSid": sid,
            "RecordingUrl": url,
            "RecordingDuration": str(max(1, round(seconds))),
            "Digits": digits,
        }
        self.then = Then(Request(self.record.action, self.record.method, params))


def _flag(element: ET.Element, name: str, *, default: bool) -> bool:
    value = element.get(name)
    return default if value is None else value.lower() == "true"
