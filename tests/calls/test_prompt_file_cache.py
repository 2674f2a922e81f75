"""Prompt files are decoded once per process and rate, and again when the file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ivr.channels import prompt_audio
from speech.audio import AudioError, read_wav, wav_bytes


def test_a_prompt_file_is_decoded_once_per_rate_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[tuple[Path, int]] = []

    def counted(path: Path, rate: int) -> bytes:
        decoded.append((path, rate))
        return read_wav(path, rate)

    monkeypatch.setattr(prompt_audio, "read_wav", counted)
    path = tmp_path / "welcome.wav"
    path.write_bytes(wav_bytes(b"\x10\x00" * 800, 8000))
    first = prompt_audio.prompt_file(path, 8000)
    assert prompt_audio.prompt_file(path, 8000) == first == b"\x10\x00" * 800
    assert len(prompt_audio.prompt_file(path, 16000)) == 2 * len(first)  # resampled for the browser
    assert decoded == [(path, 8000), (path, 16000)]

    path.write_bytes(wav_bytes(b"\x20\x00" * 400, 8000))  # rebuilt by `ivr prompts build`
    stamp = path.stat().st_mtime_ns + 1_000_000
    os.utime(path, ns=(stamp, stamp))
    assert prompt_audio.prompt_file(path, 8000) == b"\x20\x00" * 400
    assert len(decoded) == 3


def test_a_missing_prompt_file_is_an_audio_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"gone\.wav"):
        prompt_audio.prompt_file(tmp_path / "gone.wav", 8000)
