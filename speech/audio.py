"""Telephone audio (DESIGN §7): codecs, resampling and WAV files, all as 16-bit mono PCM.

Inside civicline audio is signed 16-bit little-endian mono PCM at 8 kHz (phone lines) or
16 kHz (the browser). μ-law and A-law go through the standard library's `audioop` (the
`audioop-lts` package on Python ≥ 3.13); resampling goes through `soxr`, a proper
band-limited filter; WAV files are read by libsndfile (`soundfile`). Nothing here touches a
network or a clock.
"""

from __future__ import annotations

import io
import warnings
import wave
from pathlib import Path

import numpy as np
import soxr

try:
    with warnings.catch_warnings():  # deprecated in 3.11, kept alive by audioop-lts from 3.13
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
except ImportError:  # Python ≥ 3.13 ships it as the audioop-lts package
    import audioop_lts as audioop  # type: ignore[import-not-found, no-redef, unused-ignore]

PHONE_RATE = 8000
BROWSER_RATE = 16000
SAMPLE_WIDTH = 2


class AudioError(ValueError):
    """Audio that cannot be used: not a WAV file, empty, or in a format we refuse."""


def ulaw_to_pcm(ulaw: bytes) -> bytes:
    return audioop.ulaw2lin(ulaw, SAMPLE_WIDTH)


def pcm_to_ulaw(pcm: bytes) -> bytes:
    return audioop.lin2ulaw(pcm, SAMPLE_WIDTH)


def alaw_to_pcm(alaw: bytes) -> bytes:
    return audioop.alaw2lin(alaw, SAMPLE_WIDTH)


def pcm_to_alaw(pcm: bytes) -> bytes:
    return audioop.lin2alaw(pcm, SAMPLE_WIDTH)


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """16-bit mono PCM at `from_rate` → `to_rate` through soxr's high-quality filter."""
    if from_rate == to_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2")
    out = soxr.resample(samples, from_rate, to_rate, quality="HQ")
    return np.asarray(out, dtype="<i2").tobytes()


def seconds(pcm: bytes, rate: int) -> float:
    return len(pcm) / (SAMPLE_WIDTH * rate)


def level(pcm: bytes) -> float:
    """The RMS level of 16-bit PCM (1 for digital silence, so levels divide safely)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) + 1.0 if samples.size else 1.0


def signal_to_noise(levels: list[float]) -> float:
    """dB between the loud frames (90th percentile: speech) and the quiet ones (5th: the
    line's noise around the words) of one turn's frame levels. A turn ends with at least
    0.3 s of silence (15 frames of 20 ms), so the 5th percentile is the line's noise for
    turns up to 6 s, even when the caller spoke from the first frame."""
    if not levels:
        return 0.0
    loud, quiet = np.percentile(levels, [90, 5])
    return float(20 * np.log10(loud / quiet))


def silence(duration: float, rate: int) -> bytes:
    return b"\0" * (SAMPLE_WIDTH * round(duration * rate))


WAV_SUBTYPES = {
    "PCM_U8": "8-bit PCM",
    "PCM_16": "16-bit PCM",
    "PCM_24": "24-bit PCM",
    "PCM_32": "32-bit PCM",
    "ULAW": "μ-law",
    "ALAW": "A-law",
}
"""The WAV encodings a phone line or a recording tool writes; libsndfile's names."""


def read_wav(source: Path | bytes, rate: int = PHONE_RATE, *, mix_stereo: bool = True) -> bytes:
    """A WAV file as 16-bit mono PCM at `rate`.

    PCM of 8, 16, 24 or 32 bits, μ-law and A-law at any sample rate are read by libsndfile
    (`soundfile`) and resampled; stereo is mixed down to mono (or refused when `mix_stereo`
    is false). A missing, empty or corrupt file, or another encoding (ADPCM, GSM, float…),
    raises AudioError naming the problem.
    """
    import soundfile

    name = str(source) if isinstance(source, Path) else "the WAV data"
    try:
        data = source.read_bytes() if isinstance(source, Path) else source
    except OSError as exc:
        raise AudioError(f"{name}: {exc.strerror}") from None
    if not data:
        raise AudioError(f"{name}: the file is empty")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as reader:
            if reader.format not in ("WAV", "WAVEX"):
                raise AudioError(f"{name}: a {reader.format_info} file, not a WAV file")
            if reader.subtype not in WAV_SUBTYPES:
                raise AudioError(
                    f"{name}: a WAV file in {reader.subtype_info}; only "
                    f"{', '.join(WAV_SUBTYPES.values())} can be used"
                )
            channels, source_rate = reader.channels, reader.samplerate
            samples = reader.read(dtype="int16", always_2d=True)
    except soundfile.LibsndfileError as exc:
        raise AudioError(f"{name}: not a readable WAV file ({exc.error_string})") from None
    if not samples.size:
        raise AudioError(f"{name}: the file holds no audio")
    if channels > 2:
        raise AudioError(f"{name}: {channels} channels; only mono or stereo can be used")
    if channels == 2 and not mix_stereo:
        raise AudioError(f"{name}: stereo audio; a call is mono")
    mono = samples.astype(np.int32).sum(axis=1) // channels
    return resample(mono.astype("<i2").tobytes(), source_rate, rate)


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    """16-bit mono PCM as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()
