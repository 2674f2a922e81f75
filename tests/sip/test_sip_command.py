"""`ivr sip`: flags override the CIVICLINE_* settings; a bad flag is refused with its format."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.bootstrap import call_services, open_database
from ivr.channels.sip.node import SipNode
from ivr.cli import main
from ivr.config import Settings


def test_bad_rtp_ports_are_refused_with_their_format() -> None:
    result = CliRunner().invoke(main, ["sip", "--rtp-ports", "30000"])
    assert result.exit_code == 2 and "MIN-MAX" in result.output


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[Settings] = []

    class Node:
        """A node that registers nowhere, on a real database (the command announces it and
        sweeps the calls of its previous life there)."""

        def __init__(self, settings: Settings) -> None:
            self.services = call_services(settings, open_database(settings))

        def run_until(self, stop: threading.Event) -> None:
            pass

    def from_settings(settings: Settings) -> Node:
        started.append(settings)
        return Node(settings)

    monkeypatch.setattr(SipNode, "from_settings", staticmethod(from_settings))
    monkeypatch.setattr("ivr.cli.sip.signal.signal", lambda *args: None)  # not pytest's
    monkeypatch.setenv("CIVICLINE_SIP_USER", "from-env")
    monkeypatch.setenv("CIVICLINE_SIP_PORT", "5999")
    monkeypatch.setenv("CIVICLINE_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(
        main,
        ["sip", "--registrar", "10.0.0.5:5080", "--user", "node-7", "--rtp-ports", "30000-30099"],
    )
    assert result.exit_code == 0, result.output
    (settings,) = started
    assert (settings.sip_registrar_host, settings.sip_registrar_port) == ("10.0.0.5", 5080)
    assert settings.sip_user == "node-7" and settings.sip_port == 5999
    assert (settings.sip_rtp_port_min, settings.sip_rtp_port_max) == (30000, 30099)
