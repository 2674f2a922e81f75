"""Speech on a noisy line, and results that string several phrases together: real Vosk, the
Korean model, espeak-ng through μ-law with white noise over the whole turn."""

from __future__ import annotations

from typing import Any

import numpy as np
from listening import first_listen, push
from voice import speak

from ivr.engine import actions as act
from ivr.engine import events as ev
from menus.schema import Flow
from speech import grammar
from speech.audio import PHONE_RATE, pcm_to_ulaw, silence, ulaw_to_pcm
from speech.recognizer import VoskRecognizer

NOISY_CONFIDENCE = 0.45


def line(speech: bytes, noise: float, *, after: float = 4.0) -> bytes:
    """`speech` framed by silence, with noise of σ `noise` over all of it (seeded)."""
    pcm = silence(0.3, PHONE_RATE) + speech + silence(after, PHONE_RATE)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    samples += np.random.default_rng(3).normal(0, noise, samples.size) if noise else 0
    noisy = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    return ulaw_to_pcm(pcm_to_ulaw(noisy))


def heard(model: Any, listen: act.Listen, pcm: bytes) -> list[tuple[float, ev.Event]]:
    recognizer = VoskRecognizer(model, PHONE_RATE, noisy_confidence=NOISY_CONFIDENCE)
    recognizer.listen(listen)
    try:
        return push(recognizer, pcm)
    finally:
        recognizer.close()


def test_a_word_on_a_clear_line_is_sure_and_on_a_noisy_one_is_to_be_confirmed(
    korean_model: Any, korean_flow: Flow
) -> None:
    listen = first_listen(korean_flow)
    word = speak("예약", speed=130)
    clear = heard(korean_model, listen, line(word, 0))[-1][1]
    assert isinstance(clear, ev.SpeechRecognized) and clear.text == "예약"
    assert clear.confidence > korean_flow.settings.confirm_threshold
    noisy = heard(korean_model, listen, line(word, 1000))[-1][1]
    assert isinstance(noisy, ev.SpeechRecognized)
    assert 0 < noisy.confidence <= NOISY_CONFIDENCE


def test_a_turn_on_a_noisy_line_ends_as_soon_as_on_a_clear_one(
    korean_model: Any, korean_flow: Flow
) -> None:
    """White noise is not voice to the VAD (webrtcvad heard it as voice throughout)."""
    word = speak("예약", speed=130)
    listen = first_listen(korean_flow)
    clear_second, _ = heard(korean_model, listen, line(word, 0, after=4.0))[-1]
    noisy_second, last = heard(korean_model, listen, line(word, 1000, after=4.0))[-1]
    assert isinstance(last, ev.SpeechRecognized)
    assert noisy_second <= clear_second + 0.2


def test_a_result_stringing_several_phrases_is_a_no_match() -> None:
    listen = act.Listen(
        node="main", language="ko", intents={"a": ("나무",), "b": ("예약", "다시 한번")}, keys=""
    )
    built = grammar.build(listen, lambda word: word != grammar.UNK, lambda _: ())
    assert built.rejected(["나무", "예약"]) and built.rejected(["한번"])
    assert not built.rejected(["나무"]) and not built.rejected(["나무", "나무"])
    assert not built.rejected(["다시", "한번"]) and built.rejected(["다시", "한번", "나무"])
    digits = act.Listen(node="n", language="ko", intents={}, keys="0123456789*#")
    built = grammar.build(digits, lambda word: word != grammar.UNK, lambda _: ())
    assert not built.rejected(["이", "육"])
