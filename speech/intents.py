"""Text → intent: a normalised phrase matcher (case, diacritics, punctuation, digits).

Foundation version of the IntentMatcher port: exact phrase → 1.0, a phrase contained in
the utterance → 0.9, otherwise the share of the phrase's words heard. The speech issue makes
it robust to spoken numbers, fillers and repeated words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from ivr.engine.ports import IntentMatch

_NON_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Casefold, strip diacritics (ș/ş → s, ț/ţ → t, ă → a) and punctuation; Cyrillic stays."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", bare).split())


def _score(utterance: str, phrase: str) -> float:
    if utterance == phrase:
        return 1.0
    if f" {phrase} " in f" {utterance} ":
        return 0.9
    heard = set(utterance.split())
    words = phrase.split()
    return 0.8 * sum(w in heard for w in words) / len(words)


class PhraseMatcher:
    """Picks the intent with the best-scoring phrase; ties go to the first intent listed."""

    def match(
        self, text: str, intents: Mapping[str, Sequence[str]], language: str
    ) -> IntentMatch | None:
        utterance = normalise(text)
        if not utterance:
            return None
        best: IntentMatch | None = None
        for intent, phrases in intents.items():
            for phrase in phrases:
                normalised = normalise(phrase)
                if not normalised:
                    continue
                score = _score(utterance, normalised)
                if score > 0 and (best is None or score > best.confidence):
                    best = IntentMatch(intent, score)
        return best
