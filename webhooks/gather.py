"""Gather mode (DESIGN §8): a Twilio call driven by `<Play>`, `<Gather>` and `<Record>` TwiML,
with Twilio's own speech recognition, on the same engine as a Media Stream call. Prompts are
our pre-rendered files (`prompt_files`); one the cache lacks is said by Twilio (`<Say>`).

Each answer of Twilio becomes engine events, and the engine's line actions become the next
TwiML document; the dialog stays in the engine:
- keys → DigitsPressed (an entry of several keys ends with the Gather: `#`, enough keys or
  Twilio's timeout, so a short one is closed with `#`; a digits entry's Gather leaves room
  for the `#` the prompt asks after it); SpeechResult and Confidence →
  SpeechRecognized; then the turn's prompts are over (PromptFinished with the last Say's
  mark, which rides in the action URL that Twilio signs).
- nothing (Twilio's timeout): the prompts were heard, and the timer the engine then started
  ran out: NoSpeech for the no-input timer, TimerExpired for another (a notice's window);
  when the prompts' end itself moved the call on (a notice accepted), nothing more.
- Twilio keeps the time: a Gather waits the flow's `no_input_seconds`; StartTimer and
  CancelTimer need nothing here.
A webhook whose input changed nothing asks the current question again (`current_turn`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from ivr.calls.runner import CallRunner
from ivr.channels.line_actions import from_records
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage.twilio import RECORDING_SID
from menus.schema import Flow
from webhooks import twiml

NO_INPUT = "no_input"
TURN_ENDS = (act.Listen, act.Record, act.Transfer, act.HangUp)


class PromptSource(Protocol):
    """How a Say is played (`prompt_files.PromptUrls`): our files, or its text."""

    def prompt(self, say: act.Say) -> twiml.Prompt: ...


class StoredRow(Protocol):
    kind: str
    type: str
    payload: dict[str, Any]


def answer(
    runner: CallRunner, form: Mapping[str, str], *, mark: str, max_digits: int, at: datetime
) -> list[act.Action]:
    """Feed what a Gather posted; the line actions the engine answered with, in order."""
    line: list[act.Action] = []
    digits = "".join(k for k in form.get("Digits", "") if k in twiml.ALL_KEYS)
    speech = form.get("SpeechResult", "").strip()
    if digits:
        if max_digits > 1 and len(digits) < max_digits and digits[-1] != "#":
            digits += "#"
        line += runner.feed(ev.DigitsPressed(at=at, digits=digits))
    elif speech:
        line += runner.feed(ev.SpeechRecognized(at=at, text=speech, confidence=_confidence(form)))
    heard = runner.feed(ev.PromptFinished(at=at, mark=mark)) if mark else []
    line += heard
    if digits or speech:
        return line
    started = [a.name for a in heard if isinstance(a, act.StartTimer)]
    if not started:
        return line  # the prompts' end moved the call on (or it waits on nothing)
    if started[0] == NO_INPUT:
        return line + runner.feed(ev.NoSpeech(at=at))
    return line + runner.feed(ev.TimerExpired(at=at, name=started[0]))


def recorded(
    runner: CallRunner, form: Mapping[str, str], *, mark: str, at: datetime
) -> list[act.Action]:
    """Feed the end of a `<Record>`. Its file comes later (the recording callback, then the
    download job), kept under its RecordingSid: that is the recording id the engine hears
    (`webhooks.recordings`)."""
    line = runner.feed(ev.PromptFinished(at=at, mark=mark)) if mark else []
    try:
        seconds = max(0.0, float(form.get("RecordingDuration", "0") or "0"))
    except ValueError:
        seconds = 0.0
    finished = ev.RecordingFinished(at=at, recording_id=recording_sid(form), seconds=seconds)
    return line + runner.feed(finished)


def recording_sid(form: Mapping[str, str]) -> str | None:
    """The RecordingSid of a `<Record>`'s action: posted as such, or the last part of the
    RecordingUrl (the one field Twilio documents); None when neither holds one."""
    from_url = urlsplit(form.get("RecordingUrl", "")).path.rsplit("/", 1)[-1]
    for candidate in (form.get("RecordingSid", ""), from_url.removesuffix(".wav")):
        if RECORDING_SID.match(candidate):
            return candidate
    return None


def next_turn(actions: list[act.Action]) -> list[act.Action]:
    """The actions to render now: the prompts and the verb of the last turn among `actions`
    (prompts of a turn the caller already answered are not said again); empty when the
    engine asked nothing new."""
    ends = [i for i, a in enumerate(actions) if isinstance(a, TURN_ENDS)]
    if not ends:
        return []
    end = next((i for i in ends if isinstance(actions[i], act.Transfer | act.HangUp)), ends[-1])
    before = [i for i in ends if i < end]
    start = before[-1] + 1 if before else 0
    return actions[start : end + 1]


def current_turn(rows: Iterable[StoredRow]) -> list[act.Action]:
    """The question the call waits on, read back from its stored actions: the last Listen
    or Record and the prompts stored just before it."""
    turn: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for row in rows:
        if row.kind == "event":
            pending = []
        elif row.type == "Say" and not row.payload.get("secret"):
            pending.append({"type": row.type, "payload": row.payload})
        elif row.type in ("Listen", "Record"):
            turn = [*pending, {"type": row.type, "payload": row.payload}]
    return from_records(turn)


@dataclass(frozen=True)
class Urls:
    gather: str
    recorded: str
    recording: str
    """The recording status callback (a description recorded at Twilio)."""
    step: int
    """The rows the call had stored when this TwiML was written (`voice.STEP`)."""


def render(actions: list[act.Action], flow: Flow, urls: Urls, prompts: PromptSource) -> str | None:
    """The TwiML of a turn from `next_turn`/`current_turn`; None for a transfer (the caller
    renders the Dial) or when there is nothing to say."""
    says = [a for a in actions if isinstance(a, act.Say)]
    last = actions[-1] if actions else None
    mark = says[-1].mark if says else ""
    spoken = spoken_of(says, flow, prompts)
    match last:
        case act.HangUp():
            return twiml.hang_up(spoken)
        case act.Record():
            return twiml.record(
                spoken,
                action=f"{urls.recorded}?{urlencode({'mark': mark, 'step': urls.step})}",
                max_seconds=last.max_seconds,
                beep=last.beep,
                recording_callback=f"{urls.recording}?kind=description",
            )
        case act.Listen():
            query = urlencode({"mark": mark, "digits": last.max_digits, "step": urls.step})
            phrases = [p for group in last.intents.values() for p in group]
            entry = _terminated(last)
            options = twiml.GatherOptions(
                action=f"{urls.gather}?{query}",
                timeout=max(1, math.ceil(flow.settings.no_input_seconds)),
                num_digits=last.max_digits + 1 if entry else last.max_digits,
                finish_on_key="#" if entry else "",
                hints=phrases,
                keys_only=last.secret,
                interruptible=last.barge_in,
            )
            return twiml.gather(spoken, options)
    return None


def _terminated(listen: act.Listen) -> bool:
    """A digits entry (no intents: free digits) the prompt closes with `#` ("… then hash"):
    its Gather takes one key more than the entry, so the `#` after a full entry ends it
    (Twilio posts the digits without it) instead of reaching the next verb (it would end a
    `<Record>` at once)."""
    return not listen.intents and "#" in listen.keys and listen.max_digits > 0


def spoken_of(says: list[act.Say], flow: Flow, prompts: PromptSource) -> twiml.Spoken:
    """The Says as our files played, each one the cache lacks said by Twilio in the
    language's `twilio_language`."""
    language = says[-1].language if says else flow.default_language
    declared = flow.languages.get(language)
    played = [prompts.prompt(s) for s in says]
    return twiml.Spoken(played, declared.twilio_language if declared else None)


def _confidence(form: Mapping[str, str]) -> float:
    """Twilio's confidence, 0 for garbage; 1 when a speech model leaves it out."""
    try:
        value = float(form.get("Confidence", "1") or "1")
    except ValueError:
        return 0.0
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0
