"""Fixtures of the SIP tests: a test flow (the Korean flow, open around the clock, with a
status node), its prompts rendered once, Kamailio and one `ivr sip` node per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sip_rig import Kamailio, node_settings, running_kamailio, running_node

from ivr.channels.sip.node import SipNode
from menus.loader import load_flow
from speech.prompts import build
from speech.synthesis import Synthesizer

KOREAN_FLOW = Path(__file__).parents[1] / "flows" / "korean.yaml"
PROMPT_RATE = 300
"""Words per minute: faster than the default, so that real-time calls stay short."""
STATUS_NODE = {
    "type": "status",
    "prompt": {"ko": "신고 번호 8자리를 누르고 우물 정자를 누르세요."},
    "ask_pin": {"ko": "비밀번호 4자리를 누르세요."},
    "not_found": {"ko": "그 번호의 신고가 없습니다."},
    "wrong_pin": {"ko": "비밀번호가 틀렸습니다."},
    "locked": {"ko": "시도가 너무 많습니다."},
    "result": {"ko": "신고 {ref} 는 {status} 입니다. 기한은 {deadline} 입니다."},
    "next": "goodbye",
}


def sip_flow_text() -> str:
    """The Korean test flow, open every day (so a transfer is always tried) and with
    "3" for a ticket's status."""
    flow = yaml.safe_load(KOREAN_FLOW.read_text())
    every_day = ["00:00-23:59"]
    flow["schedules"]["office"] = {
        "weekly": {day: every_day for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "public_holidays": False,
    }
    flow["nodes"]["main"]["intents"]["status"] = {
        "keys": "3",
        "phrases": {"ko": ["상태"]},
        "goto": "status",
    }
    flow["nodes"]["status"] = STATUS_NODE
    return yaml.safe_dump(flow, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="session")
def sip_flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sip-flow") / "sip.yaml"
    path.write_text(sip_flow_text())
    load_flow(path)  # a broken test flow fails here, with FILE:LINE
    return path


@pytest.fixture(scope="session")
def sip_data(tmp_path_factory: pytest.TempPathFactory, sip_flow: Path) -> Path:
    """A data directory whose prompts for the test flow are rendered once per session."""
    folder = tmp_path_factory.mktemp("sip-data")
    with Synthesizer(timeout_seconds=30) as synthesizer:
        build(
            load_flow(sip_flow).flow, folder / "prompts", synthesizer, words_per_minute=PROMPT_RATE
        )
    return folder


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    with running_kamailio(tmp_path_factory.mktemp("kamailio")) as running:
        yield running


@pytest.fixture(scope="module")
def node(sip_data: Path, sip_flow: Path, kamailio: Kamailio) -> Iterator[SipNode]:
    """A node on the test flow; it loads the Korean model before it registers."""
    with running_node(node_settings(sip_data, sip_flow, kamailio)) as running:
        yield running
