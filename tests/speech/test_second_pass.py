"""The second pass (the phrases alone over the turn's voiced audio) fed alongside the first
while the caller speaks gives the verdict it gives when it decodes the turn in one burst at
the end: real Vosk, the real Korean model, espeak-ng's voice through an 8 kHz μ-law line."""

from __future__ import annotations

from typing import Any

import pytest
from listening import push
from voice import utterance

from ivr.engine import actions as act
from ivr.engine import events as ev
from speech.audio import PHONE_RATE
from speech.recognizer import SecondPass, VoskRecognizer

NUMBERS = {"one": ("일",), "two": ("이",), "three": ("삼",), "five": ("오",)}
CONFIRM = {"yes": ("예", "네"), "no": ("아니요",)}
TURNS = [
    (NUMBERS, "오", 130),
    (NUMBERS, "삼", 160),
    (NUMBERS, "자동차", 130),
    (CONFIRM, "예", 130),
    (CONFIRM, "네", 160),
    (CONFIRM, "감사합니다", 160),
]


def heard(model: Any, second_pass: SecondPass) -> list[tuple[ev.Event, bool]]:
    """Each turn's result, and whether the first pass left its verdict to the second."""
    recognizer = VoskRecognizer(model, PHONE_RATE, second_pass=second_pass)
    results = []
    for intents, text, speed in TURNS:  # one recogniser, turn after turn, as on a call
        recognizer.listen(act.Listen(node="n", language="ko", intents=intents, keys=""))
        events = [e for _, e in push(recognizer, utterance(text, speed=speed))]
        turn = recognizer.last_turn
        rejected = turn is not None and (
            turn.grammar.judge(turn.readings, recognizer.margins).kind == "rejected"
        )
        results.append(([e for e in events if not isinstance(e, ev.SpeechStarted)][-1], rejected))
    recognizer.close()
    return results


@pytest.mark.parametrize("second_pass", ["live", "lazy"])
def test_the_second_pass_fed_live_gives_the_verdict_of_one_burst(
    korean_model: Any, second_pass: SecondPass
) -> None:
    live, at_end = heard(korean_model, second_pass), heard(korean_model, "at end")
    assert live == at_end
    assert any(rejected for _, rejected in live), "no turn reached the second pass"
