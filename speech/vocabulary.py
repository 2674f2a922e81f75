"""Flow phrases against the vocabulary of each language's Vosk model, at the phrase's line.

A grammar word the model does not know is dropped by Vosk at run time (the caller's phrase
then never matches), so `ivr flows check` reports it instead, as a `FILE:LINE` problem on
the phrase (an intent's, or a yes/no answer to the confirmation question). A language whose
model is named but not installed is not a problem of the file: it runs keypad-only (the
validator already demands keys there), so it is a warning. The `menus` package never
imports Vosk; this module does, through `speech.models`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from menus.graph import all_choices
from menus.lines import LineMap, Location, about
from menus.problems import Problem
from menus.schema import Flow
from speech.models import ModelCache, ModelError
from speech.text import normalise


@dataclass
class VocabularyReport:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_vocabulary(flow: Flow, lines: LineMap, file: str, models: ModelCache) -> VocabularyReport:
    """Every phrase with a word its language's installed model cannot recognise."""
    report = VocabularyReport()
    for language, settings in flow.languages.items():
        if settings.model is None:
            continue
        try:
            model = models.get(settings.model)
        except ModelError:
            report.warnings.append(
                f"language {language}: model {settings.model} not installed, keypad only"
            )
            continue
        report.problems += _unknown(flow, lines, file, language, settings.model, model)
    return report


def _unknown(
    flow: Flow, lines: LineMap, file: str, language: str, name: str, model: Any
) -> list[Problem]:
    problems: list[Problem] = []
    for location, phrases in _phrase_lists(flow, language):
        for index, phrase in enumerate(phrases):
            words = normalise(phrase).split()
            unknown = [w for w in words if model.vosk_model_find_word(w) == -1]
            if unknown:
                where = (*location, language, index)
                message = f"{name} cannot recognise {', '.join(map(repr, unknown))} in {phrase!r}"
                problems.append(Problem(file, lines.line(where), about(where, message)))
    return sorted(problems)


def _phrase_lists(flow: Flow, language: str) -> list[tuple[Location, list[str]]]:
    """Every list of phrases a caller may say: the intents', and the confirmation's answers."""
    found = [((*at, "phrases"), i.phrases.get(language, [])) for at, i in all_choices(flow)]
    for name in ("confirm_yes", "confirm_no"):
        found.append((("texts", name), getattr(flow.texts, name).get(language, [])))
    return found
