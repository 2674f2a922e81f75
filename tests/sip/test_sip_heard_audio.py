"""A real phone (baresip) reports a problem on the demo city's line by keypad, and what it
heard holds the registration number as the pre-rendered prompt pieces say it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from baresip_phone import dialling
from sip_rig import Kamailio, node_settings, running_kamailio, running_node
from sqlalchemy import select

from ivr.channels.sip.node import SipNode
from ivr.engine.render import digits
from ivr.storage import calls
from ivr.storage.models import Call, Ticket
from menus.loader import load_flow
from speech import catalogue
from speech.audio import PHONE_RATE, pcm_to_ulaw, read_wav, silence, ulaw_to_pcm, wav_bytes
from speech.prompts import PAUSE_FILE, build
from speech.synthesis import Synthesizer

DEMO_FLOW = Path(__file__).parents[2] / "callflows.yaml"
CALLER = "+40722111222"


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-data")
    with Synthesizer(timeout_seconds=30) as synthesizer:
        build(load_flow(DEMO_FLOW).flow, folder / "prompts", synthesizer, words_per_minute=300)
    return folder


@pytest.fixture(scope="module")
def demo_kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    with running_kamailio(tmp_path_factory.mktemp("kamailio-demo")) as running:
        yield running


@pytest.fixture(scope="module")
def demo_node(demo_data: Path, demo_kamailio: Kamailio) -> Iterator[SipNode]:
    with running_node(node_settings(demo_data, DEMO_FLOW, demo_kamailio)) as running:
        yield running


def spoken_ref(prompts: Path, language: str, ref: str) -> bytes:
    """The registration number as the prompt cache says it: its digits' pieces and pauses."""
    index = json.loads((prompts / language / "index.json").read_text())
    pieces = [
        prompts / PAUSE_FILE
        if token == catalogue.PAUSE
        else prompts / language / index["pieces"][token]
        for token in catalogue.tokens(digits(ref))
    ]
    return b"".join(read_wav(piece, PHONE_RATE) for piece in pieces)


def best_match(needle: bytes, haystack: bytes) -> float:
    """The highest normalised cross-correlation of `needle` anywhere in `haystack`."""
    a = np.frombuffer(needle, dtype="<i2").astype(np.float64)
    b = np.frombuffer(haystack, dtype="<i2").astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    correlation = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    energy = np.concatenate(([0.0], np.cumsum(b * b)))
    window = energy[len(a) :] - energy[: len(energy) - len(a)]  # each window's energy
    scores = correlation[: len(window)] / np.sqrt(np.maximum(window, 1e-9) * np.dot(a, a))
    return float(scores.max())


def test_a_phone_hears_its_registration_number_read_back(
    demo_node: SipNode, demo_kamailio: Kamailio, demo_data: Path, tmp_path: Path
) -> None:
    voice = tmp_path / "voice.wav"
    hum = np.sin(2 * np.pi * 300 * np.arange(PHONE_RATE * 40) / PHONE_RATE) * 3000
    voice.write_bytes(wav_bytes(hum.astype("<i2").tobytes(), PHONE_RATE))
    uri = f"sip:civicline@127.0.0.1:{demo_kamailio.port}"
    with dialling(tmp_path, uri, CALLER, voice) as phone:
        time.sleep(14)  # the welcome and the recording notice (12.6 s), heard in full
        phone.press("2")  # English
        time.sleep(1)
        phone.press("11")  # report a pothole
        phone.press("3")  # in district 3 (of 1 to 6: one digit is enough)
        time.sleep(4.5)  # the description prompt (2.9 s), the beep, a second of humming
        phone.press("#")
        time.sleep(1)
        phone.press("1")  # file it
        time.sleep(7)  # "registered with number …", read twice
        phone.hang_up()
        time.sleep(1)
        heard = read_wav(phone.heard(), PHONE_RATE)
    with demo_node.services.database.session() as db:
        call = db.scalars(select(Call).where(Call.caller == CALLER)).one()
        steps = [(e.type, e.payload) for e in calls.call_events(db, call.id)]
        assert call.ticket_id is not None, steps
        ticket = db.get(Ticket, call.ticket_id)
        assert ticket is not None and ticket.category == "pothole", steps
        ref = ticket.ref
    expected = ulaw_to_pcm(pcm_to_ulaw(spoken_ref(demo_data / "prompts", "en", ref)))
    other = ulaw_to_pcm(pcm_to_ulaw(spoken_ref(demo_data / "prompts", "en", "99-999999")))
    assert best_match(expected, heard) > 0.9
    assert best_match(other, heard) < 0.6  # the match is the number's, not any digits
    assert silence(0.1, PHONE_RATE) not in heard[:PHONE_RATE]  # the line was not dead
