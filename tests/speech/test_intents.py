"""The intent matcher on text: Romanian, English, Bulgarian and Korean as people say them."""

from __future__ import annotations

import pytest

from speech.intents import PhraseMatcher

ROMANIAN = {"report": ["raportează o problemă", "groapă"], "status": ["stadiul"], "two": ["doi"]}
ENGLISH = {"report": ["report a problem"], "status": ["status"], "two": ["two"]}
BULGARIAN = {"report": ["сигнал"], "status": ["състояние"], "two": ["две"]}
KOREAN = {"report": ["나무"], "two": ["이"]}


@pytest.mark.parametrize(
    ("text", "intents", "language", "intent"),
    [
        ("Raportează o problemă", ROMANIAN, "ro", "report"),
        ("raporteaza o problema", ROMANIAN, "ro", "report"),
        ("păi, groapă groapă", ROMANIAN, "ro", "report"),
        ("groapã", ROMANIAN, "ro", "report"),
        ("vremea", ROMANIAN, "ro", None),
        ("două", ROMANIAN, "ro", "two"),
        ("2", ROMANIAN, "ro", "two"),
        ("um, status please", ENGLISH, "en", "status"),
        ("two", ENGLISH, "en", "two"),
        ("ами сигнал", BULGARIAN, "bg", "report"),
        ("СЪСТОЯНИЕ", BULGARIAN, "bg", "status"),
        ("два", BULGARIAN, "bg", "two"),
        ("이 이", KOREAN, "ko", "two"),
        ("음 나무", KOREAN, "ko", "report"),
        ("둘", KOREAN, "ko", "two"),
        ("weather", ENGLISH, "en", None),
    ],
)
def test_utterances_find_their_intent(
    text: str, intents: dict[str, list[str]], language: str, intent: str | None
) -> None:
    found = PhraseMatcher().match(text, intents, language)
    if intent is None:
        assert found is None or found.confidence < 0.6
    else:
        assert found is not None and found.intent == intent and found.confidence >= 0.9


def test_comma_below_and_cedilla_are_the_same_letter() -> None:
    found = PhraseMatcher().match("ştergeţi", {"erase": ["ștergeți"]}, "ro")
    assert found is not None and found.confidence == 1.0


def test_a_near_word_counts_but_below_an_exact_one() -> None:
    found = PhraseMatcher().match("reportt a problem", ENGLISH, "en")
    assert found is not None and found.intent == "report" and 0.6 <= found.confidence < 0.9
