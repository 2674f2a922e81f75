"""WAV files as phone systems and `sox` write them: μ-law, A-law and PCM of every width, at
8 and 16 kHz, mono and stereo, read by `read_wav`, `ivr transcribe` and `ivr call --input wav:`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from speech_paths import KOREAN_FLOW
from test_commands import run
from voice import utterance

from speech.audio import PHONE_RATE, AudioError, read_wav, seconds, wav_bytes

ENCODINGS = {
    "μ-law": ["-e", "mu-law"],
    "A-law": ["-e", "a-law"],
    "8-bit PCM": ["-e", "unsigned", "-b", "8"],
    "16-bit PCM": ["-e", "signed", "-b", "16"],
    "24-bit PCM": ["-e", "signed", "-b", "24"],
    "32-bit PCM": ["-e", "signed", "-b", "32"],
}


def sox(source: Path, target: Path, *options: str) -> Path:
    """`source` converted by sox (a missing sox fails the test: apt-get install sox)."""
    subprocess.run(["sox", str(source), *options, str(target)], check=True, timeout=30)
    return target


def spoken(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spoken.wav"
    path.write_bytes(wav_bytes(utterance(text), PHONE_RATE))
    return path


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, dtype="<i2").astype(np.float64) ** 2)))


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (16000, 2)])
def test_sox_files_read_as_the_same_speech(
    tmp_path: Path, encoding: str, rate: int, channels: int
) -> None:
    source = spoken(tmp_path, "나무")
    original = read_wav(source)
    made = sox(
        source, tmp_path / "made.wav", *ENCODINGS[encoding], "-r", str(rate), "-c", str(channels)
    )
    pcm = read_wav(made)
    assert seconds(pcm, PHONE_RATE) == pytest.approx(seconds(original, PHONE_RATE), abs=0.01)
    assert rms(pcm) == pytest.approx(rms(original), rel=0.1)


def test_another_encoding_is_refused_by_name(tmp_path: Path) -> None:
    adpcm = sox(spoken(tmp_path, "나무"), tmp_path / "adpcm.wav", "-e", "ima-adpcm")
    with pytest.raises(AudioError, match="IMA ADPCM"):
        read_wav(adpcm)


def test_a_file_of_another_kind_is_refused_by_name(tmp_path: Path) -> None:
    aiff = sox(spoken(tmp_path, "나무"), tmp_path / "voice.aiff")
    with pytest.raises(AudioError, match=r"AIFF.*not a WAV file"):
        read_wav(aiff)


@pytest.mark.parametrize(
    "options",
    [["-e", "mu-law", "-r", "8000"], ["-e", "a-law", "-r", "16000", "-c", "2"]],
    ids=["mu-law-8k", "a-law-16k-stereo"],
)
def test_transcribe_takes_phone_recordings(tmp_path: Path, options: list[str]) -> None:
    made = sox(spoken(tmp_path, "예약"), tmp_path / "made.wav", *options)
    done = run(
        "transcribe", str(made), "--flow", str(KOREAN_FLOW), "--node", "main", "--json",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["intent"] == "callback"


def test_a_call_takes_an_a_law_stereo_recording(tmp_path: Path) -> None:
    made = sox(spoken(tmp_path, "나무"), tmp_path / "made.wav", "-e", "a-law", "-c", "2")
    done = run(
        "call", "--flow", str(KOREAN_FLOW), "--lang", "ko", "--at", "2026-03-02T10:00",
        "--input", f"wav:{made}", "--json",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [x["text"] for x in lines if x.get("event") == "SpeechRecognized"] == ["나무"]


def test_a_truncated_mu_law_file_is_a_clear_error(tmp_path: Path) -> None:
    made = sox(spoken(tmp_path, "나무"), tmp_path / "made.wav", "-e", "mu-law")
    made.write_bytes(made.read_bytes()[:40])
    done = run("call", "--flow", str(KOREAN_FLOW), "--input", f"wav:{made}", tmp_path=tmp_path)
    assert done.returncode != 0
    assert "not a readable WAV file" in done.stderr and "Traceback" not in done.stderr
