"""How far apart two words sound, from their spelling alone (no lexicon ships with our models).

Hangul is written nearly as it sounds: a syllable splits (Unicode NFD) into its jamo, and
each jamo maps to the phones it stands for: a silent initial ㅇ is nothing, ㅐ and ㅔ are one
vowel (as in today's Seoul speech), a compound vowel is its glide and vowel (ㅖ = y + e), and
a final consonant is one of the seven codas it is pronounced as (ㅅ, ㅈ, ㅎ… → t). Latin and
Cyrillic fall back on their letters, case and diacritics dropped. The distance between two
spellings is the edit distance of their phones over the longer length (`rapidfuzz`), from 0
(same sound) to 1, counted on broad classes of sounds that a phone line blurs: lenis, tense
and aspirated stops of one place are one, so are the nasals and the liquids, and glides
are left out. Counted on letters alone, "몌" (mye) and "넷" (net) were as far apart as two
words can be, and the decoy "몌" took a caller's "넷" (four).
"""

from __future__ import annotations

import unicodedata
from functools import cache

from rapidfuzz.distance import Levenshtein

INITIALS = tuple("gGndDrmbBsS_jJcktph")
"""Phones of the 19 initial jamo U+1100…U+1112 ("_": the silent ㅇ; capitals: tense)."""
VOWELS = (
    "a", "e", "ya", "ye", "v", "e", "yv", "ye", "o", "wa", "we",
    "we", "yo", "u", "wv", "we", "wi", "yu", "x", "xi", "i",
)  # fmt: skip
"""Phones of the 21 vowel jamo U+1161…U+1175 (v: ㅓ, x: ㅡ)."""
FINALS = tuple("kkknnntlkmlllplmppttQttktpt")
"""The coda each of the 27 final jamo U+11A8…U+11C2 is pronounced as (Q: ㅇ)."""


def phones(word: str) -> str:
    """`word` as a string of one-letter phones; "" when it has no letters."""
    out: list[str] = []
    for char in unicodedata.normalize("NFD", word.casefold()):
        code = ord(char)
        if 0x1100 <= code <= 0x1112:
            out.append(INITIALS[code - 0x1100].strip("_"))
        elif 0x1161 <= code <= 0x1175:
            out.append(VOWELS[code - 0x1161])
        elif 0x11A8 <= code <= 0x11C2:
            out.append(FINALS[code - 0x11A8])
        elif char.isalpha():
            out.append(char)
    return "".join(out)


BROAD = str.maketrans("gGkdDtbBpjJcsSmnQrl", "KKKTTTPPPCCCSSNNNLL", "yw")
"""Phones to their broad class: stops and affricates by place, nasals, liquids; no glides."""


def distance(a: str, b: str) -> float:
    """0 (the same sounds) … 1 (nothing in common), between two phone strings."""
    return Levenshtein.normalized_distance(a.translate(BROAD), b.translate(BROAD))


def script(word: str) -> str:
    """The writing system of `word`'s first letter ("HANGUL", "LATIN", "CYRILLIC", …)."""
    return next((_script(char) for char in word if char.isalpha()), "")


@cache
def _script(char: str) -> str:
    return unicodedata.name(char, "UNKNOWN").split()[0]
