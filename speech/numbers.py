"""Spoken digits: the number words of each language, and text with them turned into digits.

Ticket numbers, PINs and district numbers are read digit by digit ("două șase", "two six",
"две шест", "이 육"), so only the words for 0–10 are known; "ten" becomes "10". Romanian
takes both genders ("unu/una", "doi/două"), Bulgarian too ("едно/една/един", "две/два");
Korean takes Sino-Korean (일, 이, 삼) and native (하나, 둘, 셋) numbers. The recogniser
adapter applies `to_digits` to what it hears at a number or status node, so the engine, which
reads ASCII digits, gets "26" from "이 육"; the intent matcher applies it to both sides, so
"doi" matches a phrase "2".
"""

from __future__ import annotations

from speech.text import normalise

_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "ro": {
        "0": ("zero",),
        "1": ("unu", "una", "un"),
        "2": ("doi", "două", "doua"),
        "3": ("trei",),
        "4": ("patru",),
        "5": ("cinci",),
        "6": ("șase", "şase"),
        "7": ("șapte", "şapte"),
        "8": ("opt",),
        "9": ("nouă",),
        "10": ("zece",),
    },
    "en": {
        "0": ("zero", "oh", "nought"),
        "1": ("one",),
        "2": ("two",),
        "3": ("three",),
        "4": ("four",),
        "5": ("five",),
        "6": ("six",),
        "7": ("seven",),
        "8": ("eight",),
        "9": ("nine",),
        "10": ("ten",),
    },
    "bg": {
        "0": ("нула",),
        "1": ("едно", "една", "един"),
        "2": ("две", "два"),
        "3": ("три",),
        "4": ("четири",),
        "5": ("пет",),
        "6": ("шест",),
        "7": ("седем",),
        "8": ("осем",),
        "9": ("девет",),
        "10": ("десет",),
    },
    "ko": {
        "0": ("영", "공"),
        "1": ("일", "하나"),
        "2": ("이", "둘"),
        "3": ("삼", "셋"),
        "4": ("사", "넷"),
        "5": ("오", "다섯"),
        "6": ("육", "여섯"),
        "7": ("칠", "일곱"),
        "8": ("팔", "여덟"),
        "9": ("구", "아홉"),
        "10": ("십", "열"),
    },
}

_DIGIT_OF: dict[str, dict[str, str]] = {
    language: {normalise(word): digit for digit, words in table.items() for word in words}
    for language, table in _WORDS.items()
}


def number_words(language: str) -> list[str]:
    """The words for 0–10 in `language` (for a recogniser's grammar); none if unknown."""
    return [word for words in _WORDS.get(language, {}).values() for word in words]


def to_digits(text: str, language: str) -> str:
    """Normalised `text` with each number word of `language` replaced by its digits."""
    table = _DIGIT_OF.get(language, {})
    return " ".join(table.get(token, token) for token in normalise(text).split())
