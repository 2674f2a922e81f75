"""Fixtures of the SIP tests: a test flow (the Korean flow, open around the clock, with a
status node), its prompts rendered once, Kamailio and one `ivr sip` node per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from line_flow import PROMPT_RATE, open_flow_text
from sip_rig import Kamailio, node_settings, running_kamailio, running_node

from ivr.channels.sip.node import SipNode
from menus.loader import load_flow
from speech.prompts import build
from speech.synthesis import Synthesizer


def sip_flow_text() -> str:
    """The open Korean flow, with the no-input time the SIP tests were timed with."""
    flow = yaml.safe_load(open_flow_text())
    del flow["settings"]["no_input_seconds"]
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
