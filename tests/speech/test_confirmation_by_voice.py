"""The confirmation question answered by voice: real Vosk, the Korean model, espeak-ng."""

from __future__ import annotations

from typing import Any

import pytest
from listening import START, push
from voice import utterance

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.session import CallSession
from menus.schema import Flow
from speech.audio import PHONE_RATE
from speech.intents import PhraseMatcher
from speech.recognizer import VoskRecognizer


def at_the_main_menu(flow: Flow) -> CallSession:
    """A call that heard every prompt (and let every timer run out) until the main menu."""
    session = CallSession(flow, PhraseMatcher())
    actions = session.handle(
        ev.CallStarted(at=START, call_id="c", caller=None, channel="t", language="ko")
    )
    for _ in range(5):
        if session.node == "main":
            return session
        answers: list[ev.Event] = [
            ev.PromptFinished(at=START, mark=a.mark) for a in actions if isinstance(a, act.Say)
        ]
        answers += [
            ev.TimerExpired(at=START, name=a.name) for a in actions if isinstance(a, act.StartTimer)
        ]
        actions = [action for answer in answers for action in session.handle(answer)]
    raise AssertionError(f"stuck at {session.node}")


def asked_about_a_tree(flow: Flow) -> tuple[CallSession, act.Listen]:
    """A call at the main menu that heard "나무" with medium confidence; the question's Listen."""
    session = at_the_main_menu(flow)
    actions = session.handle(ev.SpeechRecognized(at=START, text="나무", confidence=0.45))
    [question] = [a for a in actions if isinstance(a, act.Say)]
    assert question.prompt == "texts.confirm" and question.text.startswith("나무, 맞습니까?")
    return session, next(a for a in actions if isinstance(a, act.Listen))


@pytest.mark.parametrize(
    ("word", "speed", "node"),
    [("네", 110, "report_district"), ("아니요", 130, "main"), ("아니요", 190, "main")],
)
def test_yes_and_no_by_voice(
    korean_model: Any, korean_flow: Flow, word: str, speed: int, node: str
) -> None:
    session, listen = asked_about_a_tree(korean_flow)
    recognizer = VoskRecognizer(korean_model, PHONE_RATE)
    recognizer.listen(listen)
    heard = [e for _, e in push(recognizer, utterance(word, speed=speed))]
    assert isinstance(heard[-1], ev.SpeechRecognized), heard
    for event in heard:
        actions = session.handle(event)
    assert session.node == node
    said = [a.prompt for a in actions if isinstance(a, act.Say)]
    assert said == (["report_district.prompt"] if node != "main" else ["main.prompt"])


def test_a_word_that_is_neither_is_a_no_match(korean_model: Any, korean_flow: Flow) -> None:
    session, listen = asked_about_a_tree(korean_flow)
    recognizer = VoskRecognizer(korean_model, PHONE_RATE)
    recognizer.listen(listen)
    actions: list[act.Action] = []
    for _, event in push(recognizer, utterance("쓰레기", speed=130)):
        actions = session.handle(event)
    assert session.node == "main"
    assert [a.prompt for a in actions if isinstance(a, act.Say)] in (
        ["texts.no_match", "main.prompt"],
        ["texts.no_input", "main.prompt"],
    )
