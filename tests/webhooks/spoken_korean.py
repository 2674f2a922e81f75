"""A caller's words for the Twilio tests: espeak-ng's Korean voice at 8 kHz, framed by
silence as on a call."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from speech.audio import PHONE_RATE, read_wav, silence


def said(text: str) -> bytes:
    """`text` as 16-bit PCM at 8 kHz: 0.3 s of silence, the words, then 1 s of silence."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)", pytrace=False)
    wav = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "150", "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    return silence(0.3, PHONE_RATE) + read_wav(wav, PHONE_RATE) + silence(1.0, PHONE_RATE)
