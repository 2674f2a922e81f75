"""Announcements' audio, rendered when one is saved (and again by `ivr prompts build`) into the
prompt cache the channels play from, so no call ever waits for synthesis."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ivr.engine.announcements import PROMPT_PREFIX
from speech.prompts import WORDS_PER_MINUTE, BuildReport, build_texts
from speech.synthesis import Synthesizer

RENDER_TIMEOUT_SECONDS = 30.0


def render_announcements(
    root: Path,
    announcements: Iterable[tuple[int, Mapping[str, str]]],
    *,
    words_per_minute: int = WORDS_PER_MINUTE,
) -> list[BuildReport]:
    """Render each (id, language → text) under its prompt id; SynthesisError when one fails."""
    by_language: dict[str, dict[str, str]] = {}
    for announcement_id, texts in announcements:
        for language, text in texts.items():
            by_language.setdefault(language, {})[f"{PROMPT_PREFIX}{announcement_id}"] = text
    if not by_language:
        return []
    with Synthesizer(timeout_seconds=RENDER_TIMEOUT_SECONDS) as synthesizer:
        return [
            build_texts(root, language, texts, synthesizer, words_per_minute=words_per_minute)
            for language, texts in sorted(by_language.items())
        ]
