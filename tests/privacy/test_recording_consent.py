"""The recording notice: the engine records only after it is heard without a decline, and the
validator refuses a flow that can record before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.session import CallSession
from menus.loader import load_flow, load_flow_text
from menus.problems import FlowError, Problem
from speech.intents import PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "callflows.yaml").read_text()
DEMO = load_flow(ROOT / "callflows.yaml").flow
KOREAN = load_flow(ROOT / "tests/flows/korean.yaml").flow
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class Caller:
    """A channel that hears every prompt at once and answers storage like the shell."""

    def __init__(self, flow=DEMO, language: str | None = "en", *, heard: bool = True) -> None:
        self.session = CallSession(flow, PhraseMatcher())
        self.now = START
        self.heard = heard
        self.log: list[act.Action] = []
        self.refs = 0
        self.send(
            ev.CallStarted(
                at=START, call_id="c", caller="+40722111222", channel="t", language=language
            )
        )

    def send(self, event: ev.Event) -> Caller:
        queue = [event]
        while queue:
            for action in self.session.handle(queue.pop(0)):
                self.log.append(action)
                queue.extend(self._answer(action))
        return self

    def _answer(self, action: act.Action) -> list[ev.Event]:
        if isinstance(action, act.Say) and self.heard:
            return [ev.PromptFinished(at=self.now, mark=action.mark)]
        if isinstance(action, act.CreateTicket):
            self.refs += 1
            return [ev.TicketCreated(at=self.now, ref=f"26-{self.refs:06d}", pin="1234")]
        return []

    def tick(self) -> datetime:
        self.now += timedelta(seconds=2)
        return self.now

    def press(self, keys: str) -> Caller:
        return self.send(ev.DigitsPressed(at=self.tick(), digits=keys))

    def say(self, text: str) -> Caller:
        return self.send(ev.SpeechRecognized(at=self.tick(), text=text, confidence=0.9))

    def hear_all(self) -> Caller:
        """The prompts said so far were heard (for a caller built with heard=False)."""
        mark = [a for a in self.log if isinstance(a, act.Say)][-1].mark
        self.heard = True
        return self.send(ev.PromptFinished(at=self.tick(), mark=mark))

    def of(self, kind: type) -> list:
        return [a for a in self.log if isinstance(a, kind)]


def report_pothole(caller: Caller) -> Caller:
    """Report a pothole in district 3 (keys), describing it if the call records."""
    caller.press("1").press("1").press("3")
    if caller.session.node == "report_description":
        caller.send(
            ev.RecordingFinished(
                at=caller.tick(), recording_id="r1", seconds=4, transcript="hole by the school"
            )
        )
    return caller.press("1")


def test_a_notice_heard_without_a_decline_starts_the_call_recording_once() -> None:
    caller = report_pothole(Caller())
    assert caller.of(act.StartCallRecording) == [act.StartCallRecording()]
    assert caller.session.recording_consent == "accepted"
    [ticket] = caller.of(act.CreateTicket)
    assert ticket.recording_id == "r1" and len(caller.of(act.Record)) == 1
    caller.press("#")  # the main menu again: the notice is not repeated
    assert len(caller.of(act.StartCallRecording)) == 1


def test_a_declined_recording_records_nothing_and_the_report_is_still_filed() -> None:
    caller = Caller(heard=False).press("8")
    assert caller.session.recording_consent == "declined"
    caller.hear_all()
    report_pothole(caller)
    assert not caller.of(act.StartCallRecording) and not caller.of(act.Record)
    [ticket] = caller.of(act.CreateTicket)
    assert (ticket.category, ticket.district, ticket.recording_id) == ("pothole", 3, None)
    assert not ticket.draft and caller.session.outcome == "ticket"


def test_a_decline_by_voice_before_the_language_is_known_in_any_language() -> None:
    caller = Caller(language=None, heard=False).say("fara inregistrare")
    assert caller.session.recording_consent == "declined"
    [listen] = [a for a in caller.of(act.Listen) if a.node == "recording_notice"]
    assert not listen.barge_in and listen.keys == "8"
    assert "no recording" in listen.intents["decline"]


def test_other_keys_while_the_notice_plays_are_ignored() -> None:
    caller = Caller(heard=False).press("1")
    assert caller.session.node == "recording_notice" and caller.session.recording_consent is None
    caller.hear_all()
    assert caller.session.node == "main" and caller.of(act.StartCallRecording)


def test_a_decline_window_takes_a_late_decline_and_passes_other_keys_on() -> None:
    text = DEMO_TEXT.replace(
        '    decline: {keys: "8"', '    decline_seconds: 3\n    decline: {keys: "8"'
    )
    flow = load_flow_text(text, "callflows.yaml").flow
    late = Caller(flow)
    assert late.of(act.StartTimer) == [act.StartTimer(name="decline_window", seconds=3.0)]
    late.press("8")
    assert late.session.recording_consent == "declined" and late.session.node == "main"
    eager = Caller(flow).press("1")
    assert eager.of(act.StartCallRecording) and eager.session.node == "report_category"
    patient = Caller(flow).send(ev.TimerExpired(at=START, name="decline_window"))
    assert patient.of(act.StartCallRecording) and patient.session.node == "main"


def test_the_korean_notice_is_declined_by_the_word_for_no() -> None:
    caller = Caller(KOREAN, language="ko", heard=False).say("아니요")
    assert caller.session.recording_consent == "declined"


def test_a_replayed_call_keeps_its_answer() -> None:
    caller = Caller(heard=False).press("8")
    twin = CallSession(DEMO, PhraseMatcher())
    twin.handle(ev.CallStarted(at=START, call_id="c", caller=None, channel="t", language="en"))
    twin.handle(ev.DigitsPressed(at=START, digits="8"))
    assert twin.recording_consent == caller.session.recording_consent == "declined"


def _problems(text: str) -> list[Problem]:
    with pytest.raises(FlowError) as raised:
        load_flow_text(text, "callflows.yaml")
    return raised.value.problems


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_the_validator_refuses_a_flow_that_records_before_the_notice() -> None:
    text = DEMO_TEXT.replace("    next: recording_notice\n", "    next: language\n")
    problems = _problems(text)
    assert [p.line for p in problems] == [
        _line(text, "  recording_notice:"),
        _line(text, "  report_description:"),
        _line(text, "  message_record:"),
    ]
    assert problems[0].message.endswith("unreachable from `welcome`")
    assert problems[1].message == (
        "nodes.report_description: records before the recording notice (a `notice` node): "
        "welcome → language → main → report_category → report_district → report_description"
    )


def test_the_validator_refuses_a_global_intent_that_skips_the_notice() -> None:
    """After the language menu, `0` (operator) would skip a notice placed after it."""
    text = (
        DEMO_TEXT.replace("    next: recording_notice\n", "    next: language\n", 1)
        .replace(
            '      en: {keys: "2", phrases: {ro: ["engleză", "english"], en: ["english"]}}\n'
            "    next: announcements\n",
            '      en: {keys: "2", phrases: {ro: ["engleză", "english"], en: ["english"]}}\n'
            "    next: recording_notice\n",
        )
        .replace(
            '    decline: {keys: "8", phrases: {ro: ["fără înregistrare", "nu înregistrați"], '
            'en: ["no recording", "do not record"]}}\n    next: language\n',
            '    decline: {keys: "8", phrases: {ro: ["fără înregistrare", "nu înregistrați"], '
            'en: ["no recording", "do not record"]}}\n    next: announcements\n',
        )
    )
    messages = [p.message for p in _problems(text)]
    assert any(
        "welcome → language → operator → after_hours → message_record" in m for m in messages
    )


def test_a_decline_with_a_goto_and_a_decline_without_keys_in_a_keypad_only_language() -> None:
    text = DEMO_TEXT.replace('    decline: {keys: "8", ', "    decline: {goto: main, ")
    problems = _problems(text)
    line = _line(text, "    decline: {goto: main")
    assert (
        Problem(
            "callflows.yaml",
            line,
            "nodes.recording_notice.decline: no `keys` (keypad-only: ro, en)",
        )
        in problems
    )
    assert (
        Problem(
            "callflows.yaml",
            line,
            "nodes.recording_notice.decline.goto: a decline goes "
            "on to the notice's `next`, no `goto`",
        )
        in problems
    )
