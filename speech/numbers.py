"""Spoken numbers: the number words of each language, and text read as the numbers it says.

Callers say a registration number, a PIN or a district digit by digit ("două șase zero
zero", "이 육"), as whole numbers ("douăzeci și cinci", "twenty five", "двадесет и пет",
"이십오", "스물다섯") or both, and Twilio writes them as it likes ("Trei.", "3 5", "26-000123").
`read` turns each run of number words into its number and keeps every other word: a run
goes on while the next word fits below what was said ("twenty" then "five"; "two hundred"
then "twelve"), and a word that does not fit starts the next number ("two" then "six" are
2 and 6). A word written as several number words together ("이십오", "twentyfive") is read
as them. `digits` is how a number or status node hears speech: every number said, one
after the other, as one string of ASCII digits.

Only the words for 0–10 (`number_words`) go into a recogniser's grammar: digit by digit is
how numbers are asked for, and a grammar with every compound would be easier to confuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from speech.text import normalise


@dataclass(frozen=True)
class _Word:
    value: int
    opens: int
    """What may still follow within the same number: anything below it ("twenty" opens 10
    for a unit, "two hundred" 100, a unit 1: nothing)."""
    scale: bool = False
    """Multiplies what was said before it ("two hundred", "이 십", "două mii")."""


def _words(opens: int, **values: str) -> dict[str, _Word]:
    """`value=words` pairs (space-separated variants) as words that open `opens`."""
    return {
        word: _Word(int(value.removeprefix("n")), opens)
        for value, words in values.items()
        for word in words.split()
    }


def _scales(**values: str) -> dict[str, _Word]:
    """`value=words` pairs as scales: each opens what is below it ("two thousand" + "five")."""
    found: dict[str, _Word] = {}
    for value, words in values.items():
        number = int(value.removeprefix("n"))
        found.update({word: _Word(number, number, scale=True) for word in words.split()})
    return found


_TABLES: dict[str, dict[str, _Word]] = {
    "ro": {
        **_words(1, n0="zero", n1="unu una un", n2="doi două", n3="trei", n4="patru"),
        **_words(1, n5="cinci", n6="șase", n7="șapte", n8="opt", n9="nouă", n10="zece"),
        **_words(
            1,
            n11="unsprezece unșpe",
            n12="doisprezece douăsprezece doișpe douășpe",
            n13="treisprezece treișpe",
            n14="paisprezece paișpe",
            n15="cincisprezece cinșpe",
            n16="șaisprezece șaișpe",
            n17="șaptesprezece șapteșpe",
            n18="optsprezece optișpe",
            n19="nouăsprezece nouășpe",
        ),
        **_words(10, n20="douăzeci", n30="treizeci", n40="patruzeci", n50="cincizeci"),
        **_words(10, n60="șaizeci", n70="șaptezeci", n80="optzeci", n90="nouăzeci"),
        **_scales(n100="sută sute", n1000="mie mii"),
    },
    "en": {
        **_words(1, n0="zero oh o nought naught", n1="one", n2="two", n3="three", n4="four"),
        **_words(1, n5="five", n6="six", n7="seven", n8="eight", n9="nine", n10="ten"),
        **_words(1, n11="eleven", n12="twelve", n13="thirteen", n14="fourteen"),
        **_words(1, n15="fifteen", n16="sixteen", n17="seventeen", n18="eighteen"),
        **_words(1, n19="nineteen"),
        **_words(10, n20="twenty", n30="thirty", n40="forty", n50="fifty", n60="sixty"),
        **_words(10, n70="seventy", n80="eighty", n90="ninety"),
        **_scales(n100="hundred", n1000="thousand"),
    },
    "bg": {
        **_words(1, n0="нула", n1="едно една един", n2="две два", n3="три", n4="четири"),
        **_words(1, n5="пет", n6="шест", n7="седем", n8="осем", n9="девет", n10="десет"),
        **_words(
            1,
            n11="единадесет единайсет",
            n12="дванадесет дванайсет",
            n13="тринадесет тринайсет",
            n14="четиринадесет четиринайсет",
            n15="петнадесет петнайсет",
            n16="шестнадесет шестнайсет",
            n17="седемнадесет седемнайсет",
            n18="осемнадесет осемнайсет",
            n19="деветнадесет деветнайсет",
        ),
        **_words(10, n20="двадесет двайсет", n30="тридесет трийсет"),
        **_words(10, n40="четиридесет четирийсет", n50="петдесет", n60="шестдесет"),
        **_words(10, n70="седемдесет", n80="осемдесет", n90="деветдесет"),
        **_words(100, n100="сто", n200="двеста", n300="триста", n400="четиристотин"),
        **_words(100, n500="петстотин", n600="шестстотин", n700="седемстотин"),
        **_words(100, n800="осемстотин", n900="деветстотин"),
        **_scales(n1000="хиляда хиляди"),
    },
    "ko": {
        **_words(1, n0="영 공", n1="일 하나", n2="이 둘", n3="삼 셋", n4="사 넷"),
        **_words(1, n5="오 다섯", n6="육 여섯", n7="칠 일곱", n8="팔 여덟", n9="구 아홉"),
        **_words(10, n10="열", n20="스물", n30="서른", n40="마흔", n50="쉰"),
        **_words(10, n60="예순", n70="일흔", n80="여든", n90="아흔"),
        **_scales(n10="십", n100="백", n1000="천", n10000="만"),
    },
}
"""Each language's number words: Romanian and Bulgarian in both genders, spoken Romanian
teens ("unșpe") and Bulgarian ones ("единайсет"), Sino-Korean and native Korean numbers."""

_JOINERS: dict[str, frozenset[str]] = {
    "ro": frozenset({"și", "de", "o"}),
    "en": frozenset({"and"}),
    "bg": frozenset({"и"}),
}
"""Words inside a number ("douăzeci și cinci", "douăzeci de mii", "o mie o sută", "one
hundred and five"), dropped only where the next word goes on with it."""

_DIGIT_RUN = re.compile(r"[0-9]+|[^0-9]+")
MAX_JOINED = 24
"""The longest word read as number words written together (longer ones are other words)."""


@cache
def _table(language: str) -> dict[str, _Word]:
    return {normalise(word): meaning for word, meaning in _TABLES.get(language, {}).items()}


@cache
def _joiners(language: str) -> frozenset[str]:
    return frozenset(normalise(word) for word in _JOINERS.get(language, ()))


def number_words(language: str) -> list[str]:
    """The words for 0–10 in `language` (for a recogniser's grammar); none if unknown."""
    return [word for word, meaning in _TABLES.get(language, {}).items() if meaning.value <= 10]


@dataclass
class _Number:
    """A number being said: its value so far, what may still join it, its smallest scale."""

    value: int
    opens: int
    smallest_scale: float = float("inf")


class _Reader:
    """Reads one utterance's tokens, left to right, into numbers and other words."""

    def __init__(self, language: str) -> None:
        self.table, self.joiners = _table(language), _joiners(language)
        self.out: list[str] = []
        self.number: _Number | None = None
        self.joiner: str | None = None

    def token(self, token: str) -> None:
        if token.isascii() and token.isdigit():
            self._close()
            self.out.append(token)
        elif token in self.joiners and self.number is not None and self.joiner is None:
            self.joiner = token
        elif (words := _split(token, self.table)) is None:
            self._close()
            self.out.append(token)
        else:
            for word in words:
                self._word(self.table[word])

    def end(self) -> list[str]:
        self._close()
        return self.out

    def _word(self, word: _Word) -> None:
        number = self.number
        if word.scale and number is not None and number.value % word.value:
            self._multiply(number, word)
        elif number is not None and 0 < word.value < number.opens:
            number.value += word.value
            number.opens = word.opens
        else:
            self._close()
            scale = word.value if word.scale else float("inf")
            self.number = _Number(word.value, word.opens, scale)
        self.joiner = None

    def _multiply(self, number: _Number, scale: _Word) -> None:
        """`scale` multiplies the end of the number said below it ("two thousand three" +
        "hundred"), or all of it ("two hundred" + "thousand"); once a scale as small was
        used, the end starts a number of its own ("two hundred three" + "hundred")."""
        tail = number.value % scale.value
        if tail != number.value and scale.value >= number.smallest_scale:
            number.value -= tail
            self._close()
            self.number = _Number(tail * scale.value, scale.value, scale.value)
            return
        number.value += tail * (scale.value - 1)
        number.opens = number.smallest_scale = scale.value

    def _close(self) -> None:
        if self.number is not None:
            self.out.append(str(self.number.value))
        if self.joiner is not None:
            self.out.append(self.joiner)
        self.number, self.joiner = None, None


def _split(token: str, table: dict[str, _Word]) -> list[str] | None:
    """`token` as number words written together ("이십오" → 이 십 오, "일곱" whole); None
    when it is not made of number words only (or too long to be a number)."""
    if token in table or len(token) > MAX_JOINED:
        return [token] if token in table else None
    ways: dict[int, list[str]] = {0: []}
    """Where a split may reach in the token, and the words that reach it."""
    for start in range(len(token)):
        for end in range(len(token), start, -1):
            if start in ways and end not in ways and token[start:end] in table:
                ways[end] = [*ways[start], token[start:end]]
    return ways.get(len(token))


def _tokens(text: str) -> list[str]:
    """Normalised words, digits apart from letters ("3번" → "3", "번"). Only ASCII digits
    are digits: "²" is not a 2 said (normalising would make it one)."""
    ascii_digits = "".join(" " if c.isdigit() and not c.isascii() else c for c in text)
    return [run for word in normalise(ascii_digits).split() for run in _DIGIT_RUN.findall(word)]


def read(text: str, language: str) -> str:
    """Normalised `text` with each run of number words of `language` as its number
    ("douăzeci și cinci de lei" → "25 de lei", "two six" → "2 6")."""
    reader = _Reader(language)
    for token in _tokens(text):
        reader.token(token)
    return " ".join(reader.end())


def digits(text: str, language: str) -> str:
    """The digits `text` says, every number one after the other ("Trei." → "3", "doi șase
    zero zero" → "2600", "twenty six" → "26", "3 5" → "35"); "" when it says none."""
    return "".join(t for t in read(text, language).split() if t.isascii() and t.isdigit())
