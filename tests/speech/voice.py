"""A synthetic caller for the speech tests: espeak-ng's voice through an 8 kHz μ-law line."""

from __future__ import annotations

import subprocess

from speech.audio import PHONE_RATE, pcm_to_ulaw, read_wav, silence, ulaw_to_pcm


def speak(text: str, *, voice: str = "ko", speed: int = 150) -> bytes:
    """`text` as espeak-ng says it, as 8 kHz 16-bit PCM after a μ-law round trip."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return ulaw_to_pcm(pcm_to_ulaw(read_wav(wav, PHONE_RATE)))


def utterance(text: str, **voice: str | int) -> bytes:
    """Speech framed as on a call: a little silence before, a second of silence after."""
    return silence(0.3, PHONE_RATE) + speak(text, **voice) + silence(1.0, PHONE_RATE)  # type: ignore[arg-type]
