"""Text → intent: the IntentMatcher port's adapter, robust to how people really speak.

Both the utterance and each phrase are normalised (`speech.text`: case, Latin diacritics
such as ș/ş and ț/ţ, punctuation; Cyrillic and Hangul kept), their number words become
digits (`speech.numbers`: "doi", "two", "две" and "이" all read "2"), and the utterance loses
its fillers ("um", "păi", "ами", "음") and repeated words ("이 이" → "이"), unless the phrase
itself has them. Then: the phrase exactly → 1.0, the phrase inside the utterance → 0.9,
otherwise 0.8 × the share of the phrase's words heard, a word counting as heard when it is
nearly the same (one letter off in a long word: a recogniser's or a typist's slip).
The port's other half, `digits`, is how a number or status node hears speech: the digits
said, whichever channel heard them (`speech.numbers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import pairwise

from ivr.engine.ports import IntentMatch
from speech import numbers
from speech.text import normalise

__all__ = ["PhraseMatcher", "normalise"]

FILLERS: dict[str, frozenset[str]] = {
    "en": frozenset({"um", "umm", "uh", "uhm", "er", "erm", "hmm", "hm", "ah", "please", "well"}),
    "ro": frozenset({"a", "aa", "aaa", "am", "hm", "hmm", "pai", "deci", "rog", "va", "te"}),
    "bg": frozenset({"ъъ", "ъ", "ами", "хм", "моля", "ми", "ей"}),
    "ko": frozenset({"음", "어", "저", "그", "아", "저기", "주세요"}),
}
"""Hesitations and politeness that carry no intent (Romanian "vă rog" → "va", "rog")."""

EXACT = 1.0
"""The score of an utterance that is the phrase itself, the highest there is."""

NEAR_WORD = 0.8
"""Similarity above which a word of four letters or more counts as the phrase's word."""


def _tokens(text: str, language: str) -> list[str]:
    return numbers.read(text, language).split()


@lru_cache(maxsize=4096)
def _phrase_tokens(phrase: str, language: str) -> tuple[str, ...]:
    """A flow's phrase, normalised once per process rather than at every utterance."""
    return tuple(_tokens(phrase, language))


def _without_noise(tokens: list[str], phrase: list[str], language: str) -> list[str]:
    fillers = FILLERS.get(language, frozenset()) - set(phrase)
    doubled = {a for a, b in pairwise(phrase) if a == b}
    kept: list[str] = []
    for token in tokens:
        if token in fillers or (kept and token == kept[-1] and token not in doubled):
            continue
        kept.append(token)
    return kept


def _near(word: str, heard: set[str]) -> bool:
    if word in heard:
        return True
    return len(word) >= 4 and any(_similar(word, other) for other in heard)


def _similar(word: str, other: str) -> bool:
    """difflib's ratio ≥ NEAR_WORD, its cheap upper bounds tried first (as difflib's own
    get_close_matches does): most pairs differ too much in length or letters to need it."""
    if 2.0 * min(len(word), len(other)) / (len(word) + len(other)) < NEAR_WORD:
        return False  # SequenceMatcher.real_quick_ratio, without building the matcher
    matcher = SequenceMatcher(None, word, other)
    return matcher.quick_ratio() >= NEAR_WORD and matcher.ratio() >= NEAR_WORD


def _score(utterance: list[str], phrase: list[str]) -> float:
    if utterance == phrase:
        return EXACT
    if f" {' '.join(phrase)} " in f" {' '.join(utterance)} ":
        return 0.9
    heard = set(utterance)
    return 0.8 * sum(_near(w, heard) for w in phrase) / len(phrase)


class PhraseMatcher:
    """Picks the intent with the best-scoring phrase (ties go to the first intent listed);
    reads the digits said."""

    def match(
        self, text: str, intents: Mapping[str, Sequence[str]], language: str
    ) -> IntentMatch | None:
        tokens = _tokens(text, language)
        if not tokens:
            return None
        best: IntentMatch | None = None
        for intent, phrases in intents.items():
            for phrase in phrases:
                words = list(_phrase_tokens(phrase, language))
                if not words:
                    continue
                utterance = _without_noise(tokens, words, language)
                score = _score(utterance, words) if utterance else 0.0
                if score > 0 and (best is None or score > best.confidence):
                    best = IntentMatch(intent, score)
                    if score >= EXACT:
                        return best  # nothing later can beat it: ties go to the first
        return best

    def digits(self, text: str, language: str) -> str:
        return numbers.digits(text, language)
