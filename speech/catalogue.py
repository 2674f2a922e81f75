"""What a flow's prompts are made of, per language: fixed pieces, placeholders and spoken values.

A prompt (`main.prompt`, `report_file.prompt`, `texts.no_input`: the ids the engine's Say
actions carry) is split around its placeholders (`{ref}`, `{pin}`, `{district}`, `{when}`…)
into fixed pieces and placeholder slots. What fills a slot at run time is one of
- a flow text spoken whole: a category's or department's name, a status, an intent's first
  phrase (the confirmation question's `{choice}`);
- numbers 0–99 and years (districts, days, hours), digits one by one (registration numbers
  and PINs arrive as "2 6, 0 0 0 1 2 3"), a short pause at each comma;
- the words Babel writes in dates and callback slots in that language (weekdays, months, "г.").
Everything here can be rendered ahead of time, so a call only ever plays files. Pure: no I/O.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.engine.render import spoken_date, spoken_slot
from menus.graph import all_choices
from menus.localized import localized_texts
from menus.schema import Flow, Intent, LanguageNode

PAUSE = ","
NUMBERS = tuple(str(n) for n in range(100))
YEARS = tuple(str(n) for n in range(2020, 2041))
_TOKEN = re.compile(r"\d+|[^\W\d_]+|,")
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Segment:
    """A fixed piece of a prompt (`text`) or a placeholder (`param`)."""

    text: str | None = None
    param: str | None = None


def split(template: str) -> list[Segment]:
    """The template as fixed pieces and placeholders; pieces with nothing to say are dropped."""
    segments: list[Segment] = []
    for literal, name, _spec, _conversion in _FORMATTER.parse(template):
        piece = " ".join(literal.split())
        if any(char.isalnum() for char in piece):
            segments.append(Segment(text=piece))
        if name:
            segments.append(Segment(param=name))
    return segments


def tokens(value: str) -> list[str]:
    """A placeholder's value as pieces to play: numbers, words and pauses, in order."""
    pieces: list[str] = []
    for token in _TOKEN.findall(value):
        if token.isdigit() and token not in NUMBERS and token not in YEARS:
            pieces.extend(token)
        elif token.isdigit():
            pieces.append(str(int(token)) if token in NUMBERS else token)
        else:
            pieces.append(token)
    return pieces


def prompts(flow: Flow, language: str) -> dict[str, str]:
    """Prompt id → template, for every text the line speaks (SMS texts are not spoken)."""
    found: dict[str, str] = {}
    for location, texts in localized_texts(flow):
        if language not in texts:
            continue
        match location:
            case ("nodes", str(node), str(field)):
                found[f"{node}.{field}"] = texts[language]
            case ("texts", str(field)) if not field.startswith("sms_"):
                found[f"texts.{field}"] = texts[language]
            case ("services", str(service), "bring"):
                found[f"services.{service}.bring"] = texts[language]
    return found


def values(flow: Flow, language: str) -> set[str]:
    """Flow texts that fill placeholders whole: category, department and service names,
    statuses, the counters the flow seeds, and each intent's first phrase (a language node's
    options in every language's words)."""
    found = {
        intent.phrases[language][0]
        for _, intent in all_choices(flow)
        if intent.phrases.get(language)
    }
    for node in flow.nodes.values():
        if isinstance(node, LanguageNode):
            found |= {p for option in node.options.values() for p in _every_phrase(option)[:1]}
    for location, texts in localized_texts(flow):
        match location:
            case ("categories" | "departments" | "services", _, "name") | ("texts", "statuses", _):
                if language in texts:
                    found.add(texts[language])
    return found | {service.counter for service in flow.services.values()}


def _every_phrase(intent: Intent) -> list[str]:
    """An option's phrases in every language, as a language node listens for them."""
    return [phrase for phrases in intent.phrases.values() for phrase in phrases]


def calendar_words(language: str, zone: ZoneInfo) -> set[str]:
    """Every word Babel writes in a spoken date or callback slot in `language`."""
    words: set[str] = set()
    first = datetime(2026, 1, 1, 10, tzinfo=UTC)
    for day in range(365):
        moment = first + timedelta(days=day)
        for text in (spoken_slot(moment, zone, language), spoken_date(moment.date(), language)):
            words.update(t for t in tokens(text) if not t.isdigit() and t != PAUSE)
    return words


def pieces(flow: Flow, language: str) -> set[str]:
    """Every text to render for `language`: fixed pieces, values, numbers and calendar words."""
    found = {
        segment.text
        for template in prompts(flow, language).values()
        for segment in split(template)
        if segment.text is not None
    }
    found |= values(flow, language)
    found |= set(NUMBERS) | set(YEARS)
    found |= calendar_words(language, ZoneInfo(flow.city.timezone))
    return found
