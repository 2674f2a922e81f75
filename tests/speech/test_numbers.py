"""Spoken numbers read as digits: as callers say them, as Twilio writes them, and every
number num2words2 (a maintained number speller, not ours) writes in each flow language."""

from __future__ import annotations

import pytest
from num2words2 import num2words

from speech.numbers import digits, number_words, read

LANGUAGES = ("ro", "en", "bg", "ko")


@pytest.mark.parametrize(
    ("text", "language", "said"),
    [
        ("trei", "ro", "3"),
        ("Trei.", "ro", "3"),
        ("Unu.", "ro", "1"),
        ("una", "ro", "1"),
        ("Două", "ro", "2"),
        ("doi șase zero zero zero unu doi trei", "ro", "26000123"),
        ("doi sase zero zero zero unu doi trei", "ro", "26000123"),
        ("douăzeci și cinci", "ro", "25"),
        ("douăzeci și șase, zero zero zero, o sută douăzeci și trei", "ro", "26000123"),
        ("paișpe", "ro", "14"),
        ("Cartierul 3.", "ro", "3"),
        ("three", "en", "3"),
        ("Three.", "en", "3"),
        ("two six oh one", "en", "2601"),
        ("Twenty-six.", "en", "26"),
        ("twelve thirty four", "en", "1234"),
        ("one hundred and five", "en", "105"),
        ("3 5", "en", "35"),
        ("26-000123", "en", "26000123"),
        ("2 six 0 one", "en", "2601"),
        ("district number three please", "en", "3"),
        ("три", "bg", "3"),
        ("Три.", "bg", "3"),
        ("две шест нула едно", "bg", "2601"),
        ("двадесет и пет", "bg", "25"),
        ("дванайсет", "bg", "12"),
        ("삼", "ko", "3"),
        ("셋", "ko", "3"),
        ("이 육 영 일", "ko", "2601"),
        ("이십오", "ko", "25"),
        ("스물다섯", "ko", "25"),
        ("열하나", "ko", "11"),
        ("3번", "ko", "3"),
    ],
)
def test_numbers_said_become_their_digits(text: str, language: str, said: str) -> None:
    assert digits(text, language) == said


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_number_written_out_reads_back(language: str) -> None:
    wrong = [
        (n, words, digits(words, language))
        for n in range(30_000)
        if digits(words := num2words(n, lang=language), language) != str(n)
    ]
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", ["26000123", "0000", "4821", "10203040", "99"])
def test_digits_said_one_by_one_keep_every_digit(language: str, code: str) -> None:
    spoken = " ".join(num2words(int(d), lang=language) for d in code)
    assert digits(spoken, language) == code


def test_a_unit_after_a_unit_starts_a_new_number_a_ten_takes_one() -> None:
    assert read("two six", "en") == "2 6"
    assert read("twenty six", "en") == "26"
    assert read("twenty zero", "en") == "20 0"
    assert read("two hundred three hundred", "en") == "200 300"
    assert read("two thousand three hundred", "en") == "2300"


def test_other_words_stay_and_a_joiner_outside_a_number_too() -> None:
    assert read("doi și trei lei", "ro") == "2 si 3 lei"
    assert read("Taxes and fees", "en") == "taxes and fees"
    assert digits("a pothole by the school", "en") == ""
    assert digits("", "ro") == ""
    assert digits("trei", "xx") == "", "a language without a table reads digits only"


def test_a_long_word_is_not_taken_apart() -> None:
    assert digits("o" * 25, "en") == ""
    assert digits("o" * 4, "en") == "0000"


def test_the_grammar_at_number_nodes_holds_the_words_for_zero_to_ten() -> None:
    korean = number_words("ko")
    assert {"영", "공", "일", "하나", "구", "아홉", "십", "열"} <= set(korean)
    assert not {"스물", "백", "천", "만"} & set(korean)
    assert set(number_words("ro")) >= {"zero", "unu", "două", "zece"}
    assert number_words("xx") == []
