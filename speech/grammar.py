"""A Listen's phrases as a Vosk grammar, and how a grammar result is judged.

A grammar decoder always answers with some phrase of its grammar, so without a way out
anything the caller says becomes an intent. Models that have "[unk]" get it as that way out.
Others (the Korean model) get decoys: words of the model's own vocabulary that sound far
from every phrase of this grammar (`speech.decoys`), so that out-of-grammar speech lands on
them rather than on an intent. A result with "[unk]" or a decoy in it is a no-match, and so
is one that strings several phrases together (Vosk's grammar loops over its phrases;
measured on bench/speech.py's earlier set, a third of the false accepts were such strings).

At a number or status node the grammar is the language's number words (`speech.numbers`).
Phrases with a word the model does not know are left out (Vosk would drop the word and
listen for the rest of the phrase) and named in `unknown`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from ivr.engine.actions import Listen
from speech.numbers import number_words
from speech.text import normalise

UNK = "[unk]"
Decoys = Callable[[Sequence[str]], Sequence[str]]
"""The decoys of a grammar of these phrases (every word known to the model)."""


@dataclass(frozen=True)
class Margins:
    """Leads in Vosk's n-best scores (log-likelihood units) that decide a verdict; chosen
    on the tuning words of bench/speech.py's corpus."""

    sure: float = 2.0
    """A phrase this far ahead of every other reading is taken without asking."""
    near: float = 1.0
    """A phrase this close behind a decoy is asked about rather than rejected."""
    forced: float = 6.0
    """A phrase whose second pass (phrases alone) scores this close to the first pass's
    decoy is asked about rather than rejected."""


@dataclass(frozen=True)
class Verdict:
    text: str
    kind: Literal["sure", "unsure", "rejected"]


@dataclass(frozen=True)
class Grammar:
    phrases: tuple[str, ...]
    rejects: frozenset[str]
    """Words whose presence makes the result a no-match: "[unk]" or the decoys."""
    digits: bool
    unknown: tuple[str, ...] = ()

    def as_json(self) -> str:
        return json.dumps([*self.phrases, *sorted(self.rejects)], ensure_ascii=False)

    def judge(self, readings: Sequence[tuple[str, float]], margins: Margins) -> Verdict:
        """The turn's verdict from Vosk's n-best readings (text, score; best first).

        The best reading, when it is a phrase, is sure if it leads every other reading by
        `margins.sure` and unsure otherwise. When a decoy (or nothing, or several phrases)
        leads, the best phrase among the readings still wins, unsure, if it is within
        `margins.near` of the lead: a phrase is never lost to a decoy it nearly beat."""
        phrases = [(text, score) for text, score in readings if not self.rejected(text.split())]
        if not readings or not phrases:
            return Verdict(readings[0][0] if readings else "", "rejected")
        (top, top_score), (phrase, score) = readings[0], phrases[0]
        if phrase != top:
            if top_score - score <= margins.near:
                return Verdict(phrase, "unsure")
            return Verdict(top, "rejected")
        others = [s for text, s in readings[1:] if text != top]
        lead = top_score - others[0] if others else float("inf")
        return Verdict(top, "sure" if lead >= margins.sure else "unsure")

    def forced(
        self, readings: Sequence[tuple[str, float]], lead: float, margins: Margins
    ) -> Verdict:
        """The verdict of a second pass with the phrases alone over the same audio: its best
        phrase, unsure, when it scores within `margins.forced` of `lead`, the first pass's
        best reading (a decoy); otherwise the decoy stands and the turn is a no-match. At a
        number node the margin is per word heard: scores add up over a string of digits."""
        phrases = [(text, score) for text, score in readings if not self.rejected(text.split())]
        if not phrases:
            return Verdict("", "rejected")
        text, score = phrases[0]
        margin = margins.forced * (len(text.split()) if self.digits else 1)
        if lead - score > margin:
            return Verdict("", "rejected")
        return Verdict(text, "unsure")

    def complete(self, words: list[str]) -> bool:
        """Whether `words` are one phrase that no longer phrase begins with, so nothing the
        caller adds can make another phrase of them (never at a number node: digits run on)."""
        if self.digits or " ".join(words) not in self.phrases:
            return False
        longer = (p.split() for p in self.phrases if p.count(" ") >= len(words))
        return not any(p[: len(words)] == words for p in longer)

    def rejected(self, words: list[str]) -> bool:
        """A decoy or "[unk]" was heard, or (outside number nodes) anything but one phrase,
        said once or repeated: "나무 예약" is two intents at once, a sign of garbage."""
        if not words or any(word in self.rejects for word in words):
            return True
        return not self.digits and not any(_repeats(words, p.split()) for p in self.phrases)


def _repeats(words: list[str], phrase: list[str]) -> bool:
    times = len(words) // len(phrase)
    return times > 0 and words == phrase * times


def is_digits(listen: Listen) -> bool:
    return not listen.intents and set("0123456789") <= set(listen.keys)


def build(listen: Listen, known: Callable[[str], bool], decoys: Decoys) -> Grammar:
    """The grammar of `listen` for a model whose vocabulary test is `known(word)`; its way
    out is "[unk]" when the model knows it, otherwise `decoys` of its phrases."""
    digits = is_digits(listen)
    wanted = (
        number_words(listen.language)
        if digits
        else [phrase for phrases in listen.intents.values() for phrase in phrases]
    )
    phrases: list[str] = []
    unknown: list[str] = []
    for phrase in wanted:
        text = normalise(phrase)
        if not text or text in phrases:
            continue
        (phrases if all(known(w) for w in text.split()) else unknown).append(text)
    if known(UNK):
        rejects = frozenset({UNK})
    else:
        used = {w for p in phrases for w in p.split()}
        rejects = frozenset(d for d in decoys(phrases) if d not in used)
    return Grammar(tuple(phrases), rejects, digits, tuple(unknown))
