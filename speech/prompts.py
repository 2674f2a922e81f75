"""The prompt cache under `<data_dir>/prompts/`: built ahead of calls, composed into a Say's files.

    prompts/<language>/<hash>.wav     one rendered piece (8 kHz 16-bit mono); the hash is of the
                                      text, the voice and the rate, so a change renders anew
    prompts/<language>/index.json     prompt id → its templates split into pieces and
                                      placeholders, piece text → file, recorded prompt → file
    prompts/recorded/<language>/<prompt id>.wav      a human recording of a whole prompt
    prompts/recorded/<language>/<prompt id>.<n>.wav  of the n-th fixed piece of a prompt with
                                                     placeholders (counted from 1)
    prompts/pause.wav                 the short pause at a comma ("2 6, 0 0 0 1 2 3")

`build` renders only the pieces whose file is missing (`speech.synthesis`, in a subprocess
with a timeout), converts recorded WAVs to the line's format, and merges the flow's
templates into the index, so calls still running on an older flow version keep their
prompts. `PromptLibrary.compose` turns a Say into the files to play, in order: a recorded
prompt, or the template's pieces with each placeholder's value made of pre-rendered numbers,
digits, words and flow texts. `build_texts` adds prompts that are not in the flow (the
site's announcements, rendered when saved) to the same cache. Nothing is synthesised while a
caller waits.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.engine.actions import Say
from ivr.engine.render import fill
from menus.schema import Flow
from speech import catalogue
from speech.audio import PHONE_RATE, AudioError, read_wav, silence, wav_bytes
from speech.synthesis import Synthesizer, Utterance

RECORDED = "recorded"
INDEX = "index.json"
PAUSE_FILE = "pause.wav"
PAUSE_SECONDS = 0.25
WORDS_PER_MINUTE = 150


class PromptMissing(LookupError):
    """A Say whose audio is not in the cache: `ivr prompts build` has not run on its flow."""


@dataclass
class BuildReport:
    """What building one language did."""

    language: str
    voice: str
    rendered: list[str] = field(default_factory=list)
    cached: int = 0
    recorded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def piece_name(text: str, voice: str, words_per_minute: int) -> str:
    key = f"{voice}\0{words_per_minute}\0{text}".encode()
    return hashlib.sha256(key).hexdigest()[:24] + ".wav"


def build(
    flow: Flow,
    root: Path,
    synthesizer: Synthesizer,
    *,
    words_per_minute: int = WORDS_PER_MINUTE,
) -> list[BuildReport]:
    """Render what is missing for every language of `flow`; SynthesisError when a render fails."""
    root.mkdir(parents=True, exist_ok=True)
    pause = root / PAUSE_FILE
    if not pause.exists():
        pause.write_bytes(wav_bytes(silence(PAUSE_SECONDS, PHONE_RATE), PHONE_RATE))
    return [
        _build_language(flow, root, language, synthesizer, words_per_minute)
        for language in flow.languages
    ]


def _build_language(
    flow: Flow, root: Path, language: str, synthesizer: Synthesizer, words_per_minute: int
) -> BuildReport:
    folder = root / language
    report = BuildReport(language, voice=language)
    index = _read_index(folder)
    pieces = catalogue.pieces(flow, language)
    _render(folder, pieces, index, report, synthesizer, words_per_minute)
    templates = catalogue.prompts(flow, language)
    _add_templates(index, templates)
    index["recorded"] = _recorded(root, language, templates, report)
    _write_index(folder, index)
    return report


def build_texts(
    root: Path,
    language: str,
    texts: dict[str, str],
    synthesizer: Synthesizer,
    *,
    words_per_minute: int = WORDS_PER_MINUTE,
) -> BuildReport:
    """Render prompts that are not in the flow (announcements: prompt id → plain text, no
    placeholders) into the cache of `language`, beside the flow's."""
    folder = root / language
    report = BuildReport(language, voice=language)
    index = _read_index(folder, keep_recorded=True)
    templates = {prompt_id: plain_template(text) for prompt_id, text in texts.items()}
    pieces = {
        s.text for template in templates.values() for s in catalogue.split(template) if s.text
    }
    _render(folder, pieces, index, report, synthesizer, words_per_minute)
    _add_templates(index, templates)
    _write_index(folder, index)
    return report


def plain_template(text: str) -> str:
    """A text said as it is written, as a template: its braces are no placeholders."""
    return text.replace("{", "{{").replace("}", "}}")


def _render(
    folder: Path,
    pieces: set[str],
    index: dict[str, Any],
    report: BuildReport,
    synthesizer: Synthesizer,
    words_per_minute: int,
) -> None:
    """Render the pieces whose file is missing; every piece goes into the index."""
    for text in sorted(pieces):
        name = piece_name(text, report.voice, words_per_minute)
        if (folder / name).exists():
            report.cached += 1
        else:
            synthesizer.render(Utterance(text, report.voice, words_per_minute, folder / name))
            report.rendered.append(text)
        index["pieces"][text] = name


def _add_templates(index: dict[str, Any], templates: dict[str, str]) -> None:
    for prompt_id, template in templates.items():
        segments = [
            {"text": s.text} if s.text is not None else {"param": s.param}
            for s in catalogue.split(template)
        ]
        index["prompts"].setdefault(prompt_id, {})[template] = segments


def _write_index(folder: Path, index: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (INDEX + ".partial")
    partial.write_text(json.dumps(index, ensure_ascii=False, indent=1, sort_keys=True))
    partial.replace(folder / INDEX)


def _read_index(folder: Path, *, keep_recorded: bool = False) -> dict[str, Any]:
    """The index as built so far; its recorded prompts only when no build re-reads them."""
    path = folder / INDEX
    index: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    kept = {"prompts": index.get("prompts", {}), "pieces": index.get("pieces", {})}
    if keep_recorded:
        kept["recorded"] = index.get("recorded", {})
    return kept


def _recorded(
    root: Path, language: str, templates: dict[str, str], report: BuildReport
) -> dict[str, str]:
    """Recorded WAVs of `language`, converted into the cache: recording id → file."""
    found: dict[str, str] = {}
    source = root / RECORDED / language
    for wav in sorted(source.glob("*.wav")) if source.is_dir() else []:
        parts = wav.stem.split(".")
        prompt_id, piece = ".".join(parts[:2]), ".".join(parts[2:])
        template = templates.get(prompt_id)
        if template is None:
            report.warnings.append(f"{wav}: no prompt {prompt_id!r} in this flow")
            continue
        texts = [s for s in catalogue.split(template) if s.text is not None]
        if not piece and len(texts) != len(catalogue.split(template)):
            report.warnings.append(
                f"{wav}: {prompt_id} has placeholders; record its fixed pieces as "
                f"{prompt_id}.1.wav … {prompt_id}.{len(texts)}.wav"
            )
            continue
        if piece and not (piece.isdigit() and 1 <= int(piece) <= len(texts)):
            report.warnings.append(f"{wav}: {prompt_id} has no fixed piece {piece}")
            continue
        raw = wav.read_bytes()
        name = f"recorded-{hashlib.sha256(raw).hexdigest()[:24]}.wav"
        target = root / language / name
        if not target.exists():
            try:
                pcm = read_wav(raw, PHONE_RATE)
            except AudioError as error:
                report.warnings.append(f"{wav}: {error}; the synthesised prompt is used")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wav_bytes(pcm, PHONE_RATE))
        found[wav.stem] = name
        report.recorded.append(wav.stem)
    return found


class PromptLibrary:
    """The built cache, read by channels: a Say → the WAV files to play, in order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._indexes: dict[str, tuple[float, dict[str, Any]]] = {}

    def compose(self, say: Say) -> list[Path]:
        """The files that say `say`; PromptMissing when the cache does not hold them."""
        index = self._index(say.language)
        folder = self.root / say.language
        recorded: dict[str, str] = index.get("recorded", {})
        if say.prompt in recorded:
            return [folder / recorded[say.prompt]]
        templates: dict[str, list[dict[str, str]]] = index["prompts"].get(say.prompt, {})
        segments = next(
            (s for template, s in templates.items() if fill(template, say.params) == say.text),
            None,
        )
        if segments is None:
            raise PromptMissing(
                f"{say.prompt} ({say.language}) is not in the prompt cache as the flow has it "
                "now; run `ivr prompts build`"
            )
        files: list[Path] = []
        fixed = 0
        for segment in segments:
            if "text" in segment:
                fixed += 1
                own = recorded.get(f"{say.prompt}.{fixed}")
                files.append(folder / (own or self._piece(index, segment["text"], say)))
            else:
                files += self._value(index, folder, say.params.get(segment["param"], ""), say)
        return files

    def _value(self, index: dict[str, Any], folder: Path, value: str, say: Say) -> list[Path]:
        if value in index["pieces"]:
            return [folder / index["pieces"][value]]
        return [
            self.root / PAUSE_FILE
            if token == catalogue.PAUSE
            else folder / self._piece(index, token, say)
            for token in catalogue.tokens(value)
        ]

    @staticmethod
    def _piece(index: dict[str, Any], text: str, say: Say) -> str:
        try:
            name: str = index["pieces"][text]
        except KeyError:
            raise PromptMissing(
                f"{say.prompt} ({say.language}): no pre-rendered piece for {text!r}"
            ) from None
        return name

    def _index(self, language: str) -> dict[str, Any]:
        path = self.root / language / INDEX
        try:
            stamp = os.stat(path).st_mtime
        except FileNotFoundError:
            raise PromptMissing(
                f"no prompts built for {language!r} in {self.root}; run `ivr prompts build`"
            ) from None
        cached = self._indexes.get(language)
        if cached is None or cached[0] != stamp:
            cached = (stamp, json.loads(path.read_text()))
            self._indexes[language] = cached
        return cached[1]
