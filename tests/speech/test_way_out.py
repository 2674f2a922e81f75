"""The way out of a grammar (decoys and the second pass) on real Vosk, the real Korean model
and espeak-ng's voice through an 8 kHz μ-law line: short phrases of the grammar are never
swallowed by it; words that sound far from every phrase are."""

from __future__ import annotations

from typing import Any

import pytest
from listening import push
from voice import utterance

from ivr.engine import actions as act
from ivr.engine import events as ev
from speech.audio import PHONE_RATE
from speech.recognizer import VoskRecognizer

CONFIRM = {"yes": ("예", "네"), "no": ("아니요",)}
NUMBERS = {"one": ("일",), "two": ("이",), "three": ("삼",), "five": ("오",)}
SPEEDS = (130, 160)


def result(model: Any, intents: dict[str, tuple[str, ...]], text: str, speed: int) -> ev.Event:
    recognizer = VoskRecognizer(model, PHONE_RATE)
    recognizer.listen(act.Listen(node="n", language="ko", intents=intents, keys=""))
    heard = [e for _, e in push(recognizer, utterance(text, speed=speed))]
    recognizer.close()
    return [e for e in heard if not isinstance(e, ev.SpeechStarted)][-1]


@pytest.mark.parametrize("speed", SPEEDS)
@pytest.mark.parametrize(
    ("intents", "phrase"),
    [(CONFIRM, "예"), (CONFIRM, "네"), *((NUMBERS, p) for (p,) in NUMBERS.values())],
)
def test_a_short_phrase_of_the_grammar_is_never_rejected(
    korean_model: Any, intents: dict[str, tuple[str, ...]], phrase: str, speed: int
) -> None:
    heard = result(korean_model, intents, phrase, speed)
    assert isinstance(heard, ev.SpeechRecognized)
    assert heard.confidence > 0 and heard.text in {p for ps in intents.values() for p in ps}


@pytest.mark.parametrize("word", ["안녕하세요", "감사합니다", "자동차"])
def test_a_word_far_from_every_phrase_is_rejected(korean_model: Any, word: str) -> None:
    for speed in SPEEDS:
        heard = result(korean_model, NUMBERS, word, speed)
        assert isinstance(heard, ev.SpeechRecognized) and heard.confidence == 0.0, heard
