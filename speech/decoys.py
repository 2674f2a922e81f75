"""Decoys: the way out of a grammar for models without "[unk]", drawn from the model itself.

A grammar decoder always answers with an entry of its grammar, so out-of-grammar speech
needs entries of its own to land on. They are words of the model's own vocabulary
(`speech.lexicon`), taken in a fixed shuffled order, spread over short and longer words, and
each kept only when it sounds far (`speech.phonetic`) from every phrase of the grammar and
every word of those phrases: a decoy near a phrase would swallow the phrase itself. So every
grammar, in any language a model covers, gets its own decoys, computed rather than picked
by hand. The rule's numbers were chosen on the tuning words of bench/speech.py's corpus.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from speech.lexicon import words
from speech.phonetic import distance, phones, script

SEED = "civicline decoys"


@dataclass(frozen=True)
class DecoyRule:
    count: int = 15
    """Decoys per grammar."""
    min_distance: float = 0.8
    """The least phonetic distance (0–1) of a decoy from every phrase and phrase word."""
    lengths: tuple[int, ...] = (1, 2, 3)
    """Decoy lengths in syllables (Hangul) or in thirds of letters (other scripts), taken
    in turn so that short and longer speech both find a decoy."""


def choose(model_dir: Path, phrases: Sequence[str], rule: DecoyRule) -> tuple[str, ...]:
    """Decoys of the model in `model_dir` for a grammar of `phrases`, far from all of them."""
    return _choose(model_dir, tuple(phrases), rule)


@lru_cache(maxsize=4096)
def _choose(model_dir: Path, phrases: tuple[str, ...], rule: DecoyRule) -> tuple[str, ...]:
    near = {phones(p) for p in phrases} | {phones(w) for p in phrases for w in p.split()}
    near.discard("")
    scripts = {script(p) for p in phrases} or {""}
    chosen: list[str] = []
    for word in _in_turn(_candidates(model_dir, s, rule.lengths) for s in scripts):
        if all(distance(phones(word), other) >= rule.min_distance for other in near):
            chosen.append(word)
            if len(chosen) == rule.count:
                break
    return tuple(chosen)


def _in_turn(pools: Iterable[tuple[tuple[str, ...], ...]]) -> Iterator[str]:
    """The candidates of every pool and length, one of each in turn."""
    lists = [pool for pools_ in pools for pool in pools_]
    longest = max((len(x) for x in lists), default=0)
    return (x[i] for i in range(longest) for x in lists if i < len(x))


def _ordinary(word: str) -> bool:
    """Hangul of the 2,350 syllables of everyday writing (KS X 1001, as EUC-KR encodes);
    the vocabulary also holds rare syllables such as "혉" that nobody says."""
    if script(word) != "HANGUL":
        return True
    try:
        return len(word.encode("euc-kr")) == 2 * len(word)  # not its 8-byte jamo spelling
    except UnicodeEncodeError:
        return False


_COMPUTING = threading.Lock()


def prepare(model_dir: Path, rule: DecoyRule = DecoyRule()) -> None:
    """Sort the model's words into decoy candidates now (about a second), not on the first
    turn of a call; `speech.models` calls it when it loads a model."""
    _candidates(model_dir, "", rule.lengths)


def _candidates(
    model_dir: Path, written: str, lengths: tuple[int, ...]
) -> tuple[tuple[str, ...], ...]:
    """Per length, the model's words in script `written`, shuffled; computed once per
    model, even when many calls' first turns ask at the same moment."""
    with _COMPUTING:
        return _pools(model_dir, lengths).get(written, ((),) * len(lengths))


@cache
def _pools(model_dir: Path, lengths: tuple[int, ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    pools: dict[str, dict[int, list[str]]] = {}
    for word in words(model_dir):
        written = script(word)
        if script(word[-1]) == written and _ordinary(word):
            size = len(word) if written == "HANGUL" else -(-len(word) // 3)
            if size in lengths:
                pools.setdefault(written, {n: [] for n in lengths})[size].append(word)
    shuffled = {}
    for written, by_size in pools.items():
        ordered = []
        for size in lengths:
            pool = sorted(by_size[size])
            random.Random(f"{SEED} {size}").shuffle(pool)
            ordered.append(tuple(pool))
        shuffled[written] = tuple(ordered)
    return shuffled
