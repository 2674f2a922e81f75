"""A Listen's phrases as a Vosk grammar, and how a grammar result is judged.

A grammar decoder always answers with some phrase of its grammar, so without a way out
anything the caller says becomes an intent. Models that have "[unk]" get it as that way out.
The Korean model has none, so it gets decoys instead: short, common words of its vocabulary
that soak up out-of-grammar speech (measured with espeak-ng through an 8 kHz μ-law line:
without decoys 6 of 8 out-of-grammar words were forced onto an intent; with them almost all
come out as decoys). A result with "[unk]" or a decoy in it is a no-match, and so is one
that strings several phrases together (Vosk's grammar loops over its phrases; measured on
bench/speech.py's held-out set, a third of the false accepts were such strings, "나무 예약").

At a number or status node the grammar is the language's number words (`speech.numbers`).
Phrases with a word the model does not know are left out (Vosk would drop the word and
listen for the rest of the phrase) and named in `unknown`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from ivr.engine.actions import Listen
from speech.numbers import number_words
from speech.text import normalise

UNK = "[unk]"
DECOYS: dict[str, tuple[str, ...]] = {
    "ko": ("이", "오", "열", "넷", "영", "여덟", "물", "사람", "나무", "예약", "확인", "도움"),
}
"""Decoy words per language, for models without "[unk]"; a decoy that is a phrase's word
(or a number word at a number node) is left out."""


@dataclass(frozen=True)
class Grammar:
    phrases: tuple[str, ...]
    rejects: frozenset[str]
    """Words whose presence makes the result a no-match: "[unk]" or the decoys."""
    digits: bool
    unknown: tuple[str, ...] = ()

    def as_json(self) -> str:
        return json.dumps([*self.phrases, *sorted(self.rejects)], ensure_ascii=False)

    def rejected(self, words: list[str]) -> bool:
        """A decoy or "[unk]" was heard, or (outside number nodes) anything but one phrase,
        said once or repeated: "나무 예약" is two intents at once, a sign of garbage."""
        if any(word in self.rejects for word in words):
            return True
        return not self.digits and not any(_repeats(words, p.split()) for p in self.phrases)


def _repeats(words: list[str], phrase: list[str]) -> bool:
    times = len(words) // len(phrase)
    return times > 0 and words == phrase * times


def is_digits(listen: Listen) -> bool:
    return not listen.intents and set("0123456789") <= set(listen.keys)


def build(listen: Listen, known: Callable[[str], bool]) -> Grammar:
    """The grammar of `listen` for a model whose vocabulary test is `known(word)`."""
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
    used = {w for p in phrases for w in p.split()}
    if digits:
        used |= {normalise(w) for w in number_words(listen.language)}
    if known(UNK):
        rejects = frozenset({UNK})
    else:
        rejects = frozenset(
            d for d in DECOYS.get(listen.language, ()) if d not in used and known(d)
        )
    return Grammar(tuple(phrases), rejects, digits, tuple(unknown))
