"""Real Vosk, the real Korean model, espeak-ng's voice through an 8 kHz μ-law line."""

from __future__ import annotations

import random
from typing import Any

import pytest
from listening import START, first_listen, push
from voice import speak, utterance

from ivr.engine import actions as act
from ivr.engine import events as ev
from menus.schema import Flow
from speech.audio import PHONE_RATE, seconds, silence
from speech.intents import PhraseMatcher
from speech.recognizer import VoskRecognizer

SPEEDS = (130, 160, 190)
OUT_OF_GRAMMAR = ("쓰레기", "안녕하세요", "전화", "신고", "소음")
"""Words of the model's vocabulary in none of the main menu's phrases (measured: each is
rejected at every speed, as a decoy or as nothing)."""


def recognise(model: Any, listen: act.Listen, pcm: bytes, endpoint: str = "vad") -> list[Any]:
    recognizer = VoskRecognizer(model, PHONE_RATE, endpoint=endpoint)  # type: ignore[arg-type]
    recognizer.listen(listen)
    return push(recognizer, pcm)


def understood(flow: Flow, listen: act.Listen, event: ev.Event) -> str | None:
    """The intent the engine would take from `event`, as CallSession judges it."""
    if not isinstance(event, ev.SpeechRecognized):
        return None
    if event.confidence < flow.settings.confirm_threshold:
        return None
    found = PhraseMatcher().match(event.text, listen.intents, listen.language)
    if found is None or found.confidence < flow.settings.confirm_threshold:
        return None
    return found.intent


@pytest.mark.parametrize("endpoint", ["vad", "model"])
@pytest.mark.parametrize("speed", SPEEDS)
@pytest.mark.parametrize(("word", "intent"), [("나무", "report"), ("예약", "callback")])
def test_menu_words_become_their_intents(
    korean_model: Any, korean_flow: Flow, word: str, intent: str, speed: int, endpoint: str
) -> None:
    listen = first_listen(korean_flow)
    heard = recognise(korean_model, listen, utterance(word, speed=speed), endpoint)
    events = [e for _, e in heard]
    assert isinstance(events[0], ev.SpeechStarted)
    assert understood(korean_flow, listen, events[-1]) == intent


@pytest.mark.parametrize("word", OUT_OF_GRAMMAR)
def test_out_of_grammar_words_are_no_match(korean_model: Any, korean_flow: Flow, word: str) -> None:
    listen = first_listen(korean_flow)
    for speed in SPEEDS:
        heard = recognise(korean_model, listen, utterance(word, speed=speed))
        assert understood(korean_flow, listen, heard[-1][1]) is None, (word, speed, heard)


def test_a_word_with_nothing_of_the_grammar_in_it_is_a_no_match_at_once(
    korean_model: Any, korean_flow: Flow
) -> None:
    """Vosk's final result for "상태" at the main menu is empty (measured at every speed): the
    turn ends when the VAD hears the word end, not after the no-input time."""
    speech = silence(0.3, PHONE_RATE) + speak("상태")
    ends_at = seconds(speech, PHONE_RATE)
    heard = recognise(korean_model, first_listen(korean_flow), speech + silence(8, PHONE_RATE))
    second, result = heard[-1]
    assert result == ev.SpeechRecognized(at=result.at, text="", confidence=0.0)
    assert second <= ends_at + 0.8


def test_end_of_speech_is_found_in_the_silence_after_it(
    korean_model: Any, korean_flow: Flow
) -> None:
    speech = silence(0.3, PHONE_RATE) + speak("나무")
    ends_at = seconds(speech, PHONE_RATE)
    heard = recognise(korean_model, first_listen(korean_flow), speech + silence(3, PHONE_RATE))
    second, result = heard[-1]
    assert isinstance(result, ev.SpeechRecognized)
    assert ends_at < second <= ends_at + 0.8


def test_speech_starts_before_it_ends_so_the_caller_can_barge_in(
    korean_model: Any, korean_flow: Flow
) -> None:
    speech = silence(0.3, PHONE_RATE) + speak("예약", speed=130)
    heard = recognise(korean_model, first_listen(korean_flow), speech + silence(1, PHONE_RATE))
    started = [second for second, e in heard if isinstance(e, ev.SpeechStarted)]
    assert len(started) == 1
    assert started[0] < seconds(speech, PHONE_RATE)


def test_silence_is_no_speech_after_the_no_input_time(korean_model: Any, korean_flow: Flow) -> None:
    heard = recognise(korean_model, first_listen(korean_flow), silence(10, PHONE_RATE))
    assert [type(e) for _, e in heard] == [ev.NoSpeech]
    assert heard[0][0] == pytest.approx(6.0, abs=0.11)


def test_thirty_seconds_of_noise_end_the_turn_without_an_intent(
    korean_model: Any, korean_flow: Flow
) -> None:
    rng = random.Random(4)
    noise = b"".join(
        rng.randint(-3000, 3000).to_bytes(2, "little", signed=True) for _ in range(30 * PHONE_RATE)
    )
    listen = first_listen(korean_flow)
    heard = recognise(korean_model, listen, noise)
    assert heard[-1][0] < 30
    assert understood(korean_flow, listen, heard[-1][1]) is None


def test_a_number_node_hears_number_words_the_engine_reads_as_digits(korean_model: Any) -> None:
    listen = act.Listen(node="district", language="ko", intents={}, keys="0123456789*#")
    heard = recognise(korean_model, listen, utterance("이"))
    result = heard[-1][1]
    assert isinstance(result, ev.SpeechRecognized)
    assert result.text == "이"  # the words heard: digits are read once, by the engine
    assert PhraseMatcher().digits(result.text, "ko") == "2"


def test_audio_outside_a_turn_is_ignored(korean_model: Any, korean_flow: Flow) -> None:
    recognizer = VoskRecognizer(korean_model, PHONE_RATE)
    assert push(recognizer, utterance("나무")) == []


def test_a_new_listen_while_the_caller_speaks_starts_a_fresh_turn(
    korean_model: Any, korean_flow: Flow
) -> None:
    """Vosk aborts the process when a grammar is set mid-utterance; the turn is reset first."""
    listen = first_listen(korean_flow)
    recognizer = VoskRecognizer(korean_model, PHONE_RATE)
    pcm = utterance("나무")
    half = len(pcm) // 2 - len(pcm) // 2 % 2
    recognizer.listen(listen)
    assert [type(e) for e in recognizer.accept(pcm[:half], START)] == [ev.SpeechStarted]
    recognizer.listen(listen)
    heard = [e for _, e in push(recognizer, pcm)]
    assert [
        understood(korean_flow, listen, e) for e in heard if not isinstance(e, ev.SpeechStarted)
    ] == ["report"]
