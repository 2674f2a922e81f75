"""The test flows in each flow language, for the tests of numbers said (engine, terminal,
gather): the file, the keys to the district and status questions, how each says the
district's range, and digits said one by one. (Imported by name: test modules never import
each other.)"""

from __future__ import annotations

from pathlib import Path

from line_flow import open_flow_text
from num2words2 import num2words

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("ro", "en", "bg", "ko")
TO_DISTRICT = {"ro": "11", "en": "11", "bg": "11", "ko": "1"}
"""Keys from the main menu to the district question (a report, then its category)."""
TO_STATUS = {"ro": "2", "en": "2", "bg": "2", "ko": "3"}
THREE = {"ro": "Trei.", "en": "Three.", "bg": "Три.", "ko": "삼."}
"""A district said as Twilio writes it: capitalised, with a full stop."""
RANGE = {"ro": "între 1 și 6", "en": "between 1 and 6", "bg": "от 1 до 5", "ko": "1부터 5까지"}
"""How the district question, or its retry, says the range."""
CONFIRM_THREE = {
    "ro": "Ați spus 3?",
    "en": "Did you mean 3?",
    "bg": "Казахте ли 3?",
    "ko": "3, 맞습니까?",
}
"""3 read back when it was heard unsure."""


def flow_text(language: str) -> str:
    """The flow a call in `language` runs on: the demo city's (Romanian and English), the
    Bulgarian test flow, or the Korean one with a status node (`line_flow`)."""
    if language == "ko":
        return open_flow_text()
    name = "tests/flows/bulgarian.yaml" if language == "bg" else "callflows.yaml"
    return (ROOT / name).read_text(encoding="utf-8")


def digit_by_digit(number: str, language: str) -> str:
    """`number` said digit by digit, in the words of a maintained speller (num2words2)."""
    return " ".join(num2words(int(digit), lang=language) for digit in number)
