"""The second pass (the phrases alone over the turn's voiced audio) fed while the caller
speaks decodes the same audio as one burst at the end of the turn: real Vosk, the real
Korean model, espeak-ng's voice through an 8 kHz μ-law line.

Vosk's scores are not bit-for-bit repeatable (the same turn decoded twice in one process
scores a few per cent apart, so a verdict on a margin can flip): the test compares the
second pass's best reading within that spread, far below what leaving out part of the
turn's audio costs."""

from __future__ import annotations

from typing import Any

import pytest
from listening import push
from voice import utterance

from ivr.engine import actions as act
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
SPREAD = 0.15
"""Vosk's own spread between two decodings of one turn (measured: up to about 11 %)."""


def second_passes(model: Any, second_pass: SecondPass) -> list[float | None]:
    """Per turn, the second pass's best score (None when the first pass judged alone)."""
    recognizer = VoskRecognizer(model, PHONE_RATE, second_pass=second_pass)
    scores: list[float | None] = []
    for intents, text, speed in TURNS:  # one recogniser, turn after turn, as on a call
        recognizer.listen(act.Listen(node="n", language="ko", intents=intents, keys=""))
        push(recognizer, utterance(text, speed=speed))
        turn = recognizer.last_turn
        scores.append(turn.forced[0][1] if turn is not None and turn.forced else None)
    recognizer.close()
    return scores


@pytest.mark.parametrize("second_pass", ["live", "lazy"])
def test_the_second_pass_fed_live_decodes_what_one_burst_decodes(
    korean_model: Any, second_pass: SecondPass
) -> None:
    live, at_end = second_passes(korean_model, second_pass), second_passes(korean_model, "at end")
    pairs = [(a, b) for a, b in zip(live, at_end, strict=True) if a is not None and b is not None]
    assert pairs, "no turn reached the second pass"
    for fed_live, burst in pairs:
        assert abs(fed_live - burst) <= SPREAD * abs(burst), (fed_live, burst)
