"""Telephone audio: codecs, resampling, WAV files and their clear errors."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest

from speech.audio import (
    AudioError,
    alaw_to_pcm,
    pcm_to_alaw,
    pcm_to_ulaw,
    read_wav,
    resample,
    seconds,
    ulaw_to_pcm,
    wav_bytes,
)


def tone(rate: int, duration: float = 0.5, hz: float = 440.0) -> bytes:
    count = int(rate * duration)
    return struct.pack(
        f"<{count}h", *(int(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(count))
    )


def wav(frames: bytes, *, rate: int, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return buffer.getvalue()


def peak(pcm: bytes) -> int:
    return max(abs(v) for (v,) in struct.iter_unpack("<h", pcm))


def test_mu_law_and_a_law_round_trips_keep_the_signal() -> None:
    pcm = tone(8000)
    for encode, decode in ((pcm_to_ulaw, ulaw_to_pcm), (pcm_to_alaw, alaw_to_pcm)):
        coded = encode(pcm)
        assert len(coded) == len(pcm) // 2
        back = decode(coded)
        assert len(back) == len(pcm)
        assert abs(peak(back) - peak(pcm)) < 400


def test_resampling_keeps_the_duration_and_the_level() -> None:
    upsampled = resample(tone(8000), 8000, 16000)
    assert seconds(upsampled, 16000) == pytest.approx(0.5, abs=0.005)
    assert peak(upsampled) == pytest.approx(8000, rel=0.05)


def test_a_wav_at_another_rate_is_resampled_to_the_line_rate() -> None:
    pcm = read_wav(wav(tone(44100), rate=44100), 8000)
    assert seconds(pcm, 8000) == pytest.approx(0.5, abs=0.005)


def test_stereo_is_mixed_down_or_refused_clearly() -> None:
    left = tone(8000)
    interleaved = b"".join(left[i : i + 2] * 2 for i in range(0, len(left), 2))
    data = wav(interleaved, rate=8000, channels=2)
    assert read_wav(data, 8000) == left
    with pytest.raises(AudioError, match="stereo"):
        read_wav(data, 8000, mix_stereo=False)


def test_eight_bit_wav_becomes_sixteen_bit() -> None:
    data = wav(bytes([128, 255, 0, 128]), rate=8000, width=1)
    assert struct.unpack("<4h", read_wav(data, 8000)) == (0, 127 * 256, -128 * 256, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "not a readable WAV"),
        (b"hello, not audio at all", "not a readable WAV"),
        (wav(b"", rate=8000), "no audio"),
    ],
)
def test_empty_or_corrupt_wavs_are_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        read_wav(data, 8000)


def test_a_missing_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AudioError, match="No such file"):
        read_wav(tmp_path / "nothing.wav")


def test_wav_bytes_reads_back() -> None:
    pcm = tone(8000)
    assert read_wav(wav_bytes(pcm, 8000), 8000) == pcm
