"""A turn whose words already form a phrase that no longer phrase extends ends after a short
silence (`complete_silence_seconds`), not the full endpoint silence: real Vosk, the real
Korean model, espeak-ng's voice through an 8 kHz μ-law line. Seconds are audio pushed, not
a clock."""

from __future__ import annotations

from typing import Any

from listening import push
from voice import utterance

from ivr.engine import actions as act
from ivr.engine import events as ev
from speech.audio import PHONE_RATE
from speech.grammar import Grammar
from speech.recognizer import VoskRecognizer

CONFIRM = {"yes": ("예", "네"), "no": ("아니요",)}
EXTENDED = {"yes": ("예", "네"), "no": ("아니요",), "no no": ("아니요 아니요",)}


def ended(model: Any, intents: dict[str, tuple[str, ...]], text: str, silence: float) -> float:
    """The audio second at which the turn's result came (a phrase or a no-match)."""
    recognizer = VoskRecognizer(model, PHONE_RATE, complete_silence_seconds=silence)
    recognizer.listen(act.Listen(node="n", language="ko", intents=intents, keys=""))
    heard = push(recognizer, utterance(text))
    recognizer.close()
    second, result = next((s, e) for s, e in heard if not isinstance(e, ev.SpeechStarted))
    assert isinstance(result, ev.SpeechRecognized), result
    return second


def test_a_phrase_ends_the_turn_sooner_unless_a_longer_phrase_begins_with_it(
    korean_model: Any,
) -> None:
    full = VoskRecognizer.vad_silence_seconds
    assert ended(korean_model, CONFIRM, "아니요", 0.1) < ended(
        korean_model, CONFIRM, "아니요", full
    )
    assert ended(korean_model, EXTENDED, "아니요", 0.1) == ended(
        korean_model, EXTENDED, "아니요", full
    )


def test_only_a_phrase_no_longer_phrase_begins_with_is_complete() -> None:
    grammar = Grammar(("가로등", "가로등 고장", "쓰레기"), frozenset({"나비"}), digits=False)
    assert grammar.complete(["쓰레기"]) and grammar.complete(["가로등", "고장"])
    assert not grammar.complete(["가로등"])
    assert not grammar.complete(["나비"]) and not grammar.complete([])
    assert not Grammar(("일", "이"), frozenset(), digits=True).complete(["일"])
