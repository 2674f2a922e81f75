"""Bad input on the SIP channel: garbage datagrams, offers without G.711, unknown users, RTP
from a stranger, a caller who never sends RTP. Each is refused or ended cleanly, and the node
goes on answering."""

from __future__ import annotations

import queue
import socket
import time
from pathlib import Path

import pytest
from sip_rig import Kamailio, free_udp_port
from sipp_caller import AwaitBye, call

from ivr.channels.sip import rtp
from ivr.channels.sip.media import KeyPressed, MediaStream
from ivr.channels.sip.node import SipNode

OPTIONS = (
    "OPTIONS sip:civicline@127.0.0.1:{port} SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{branch}\r\n"
    "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:civicline@127.0.0.1>\r\n"
    "Call-ID: probe-{branch}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)
GARBAGE = [
    b"\x00\xff" * 300,
    b"INVITE sip:civicline@127.0.0.1 SIP/2.0\r\nVia: broken\r\n\r\n",
    b"INVITE\r\n\r\n",
    "NOTIFY sip:x SIP/2.0\r\nCall-ID: \u00e9\r\n\r\n".encode(),
    b"SIP/2.0 200 OK\r\n\r\n",
    b"HELLO world\r\n\r\n",
]


def ask_options(port: int) -> bytes:
    """An OPTIONS straight to the node; its answer (Kamailio's dispatcher pings like this)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        probe.settimeout(3)
        me = probe.getsockname()[1]
        text = OPTIONS.format(port=port, me=me, branch=free_udp_port())
        probe.sendto(text.encode(), ("127.0.0.1", port))
        answer, _ = probe.recvfrom(4096)
        return answer


def test_garbage_is_logged_and_the_node_answers_on(
    node: SipNode, caplog: pytest.LogCaptureFixture
) -> None:
    port = node.settings.sip_port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        for datagram in GARBAGE:
            out.sendto(datagram, ("127.0.0.1", port))
    time.sleep(0.5)
    assert ask_options(port).startswith(b"SIP/2.0 200 OK")
    assert sum("malformed SIP message dropped" in r.message for r in caplog.records) >= 3


def test_an_offer_without_g711_is_refused_with_488(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    done = call(tmp_path, kamailio.port, [], payloads=(18, 111), expect=488, timeout=15)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.parametrize("through_kamailio", [True, False])
def test_a_call_for_an_unknown_user_is_refused_with_404(
    node: SipNode, kamailio: Kamailio, tmp_path: Path, through_kamailio: bool
) -> None:
    port = kamailio.port if through_kamailio else node.settings.sip_port
    done = call(tmp_path, port, [], user="nobody", expect=404, timeout=15)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_a_caller_who_never_sends_rtp_is_hung_up(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    node.settings = node.settings.model_copy(update={"sip_media_timeout": 2.0})
    try:
        started = time.monotonic()
        done = call(tmp_path, kamailio.port, [AwaitBye(15000)], caller="+359888100007")
        waited = time.monotonic() - started
    finally:
        node.settings = node.settings.model_copy(update={"sip_media_timeout": 20.0})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert waited < 8
    assert ask_options(node.settings.sip_port).startswith(b"SIP/2.0 200 OK")


def test_rtp_from_an_unexpected_address_is_dropped() -> None:
    events: queue.Queue[object] = queue.Queue()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger,
    ):
        caller.bind(("127.0.0.1", 0))
        stranger.bind(("127.0.0.2", 0))  # another address: another port of the caller's is a NAT
        stream = MediaStream(
            local=("127.0.0.1", free_udp_port()),
            remote=caller.getsockname(),
            audio_type=rtp.PCMU,
            event_type=101,
            events=events,  # type: ignore[arg-type]
        )
        stream.start()
        try:
            key = rtp.RtpPacket(
                payload_type=101, sequence=1, timestamp=800, ssrc=5, payload=b"\x05\x00\x00\xa0"
            )
            stranger.sendto(rtp.build(key), ("127.0.0.1", stream.inPort))
            time.sleep(0.3)
            assert stream.refused == 1 and events.empty()
            caller.sendto(rtp.build(key), ("127.0.0.1", stream.inPort))
            assert events.get(timeout=2) == KeyPressed("5")
        finally:
            stream.stop()
