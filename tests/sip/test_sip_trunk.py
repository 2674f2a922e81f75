"""What a trunk or a caller behind NAT sends an `ivr sip` node, placed by SIPp against one
node: an INVITE without SDP (late offer), RTP from another port than the SDP's, a BYE for no
call, a huge header, an INVITE straight to the node, and responses to nothing of ours."""

from __future__ import annotations

import logging
import queue
import re
import socket
import time
from pathlib import Path

import pytest
from sip_rig import Kamailio, free_udp_port
from sipp_caller import HANG_UP, HangUp, Keys, Pause, run_scenario, scenario
from test_sip_bad_input import ask_options
from test_sip_calls import last_call

from ivr.channels.sip import rtp
from ivr.channels.sip.media import KeyPressed, MediaStream
from ivr.channels.sip.node import SipNode

DECLINE = [Pause(2000), Keys("8"), Pause(1000), HangUp()]
"""A short call: "8" while the recording notice plays (it listens for it), then goodbye."""
SDP = re.compile(r"      Content-Type: application/sdp\n.*?(?=\n    \]\]>)", re.DOTALL)
ACK_END = "      CSeq: 1 ACK\n      Max-Forwards: 70\n"
STRAY_BYE = (
    '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="stray bye">\n'
    + HANG_UP.format(caller="caller")
    .replace("[next_url]", "sip:[service]@[remote_ip]:[remote_port]")
    .replace("[last_To:]\n      [routes]", "To: <sip:[service]@[remote_ip]:[remote_port]>;tag=gone")
    .replace('<recv response="200"/>', '<recv response="481"/>')
    + "</scenario>\n"
)
"""A caller's hang-up in a dialog the node never had."""
CANCEL_WHILE_RINGING = """  <pause milliseconds="300"/>
  <send>
    <![CDATA[
      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-4]
      From: <sip:caller@[local_ip]:[local_port]>;tag=[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
"""
"""The caller gives up while the node still rings ([branch-4]: the INVITE's branch, as SIPp
counts every step of the scenario)."""
BARE_RESPONSES = [
    b"SIP/2.0 200 OK\r\n\r\n",
    b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
    b"Call-ID: none-of-ours\r\nCSeq: 7 INVITE\r\n\r\n",
    b"SIP/2.0 200 OK\r\nCall-ID: none-of-ours\r\nCSeq: 8 BYE\r\n\r\n",
]


def late_offer_scenario(caller: str) -> str:
    """DECLINE's call with its SDP moved from the INVITE to the ACK: SIPp offers nothing and
    answers our offer."""
    text = scenario(DECLINE, caller=caller)
    found = SDP.search(text)
    assert found is not None
    text = text.replace(found.group(0), "      Content-Length: 0", 1)
    return text.replace(ACK_END + "      Content-Length: 0", ACK_END + found.group(0), 1)


def assert_declined_by_key(node: SipNode, caller: str) -> None:
    """The caller's "8" reached the flow: its media was set up both ways that matter."""
    found, rows = last_call(node, caller)
    assert found.channel == "sip"
    assert [p["digits"] for _, t, p in rows if t == "DigitsPressed"] == ["8"], rows
    assert not any(t == "StartCallRecording" for _, t, _ in rows)


def test_an_invite_without_sdp_is_answered_with_our_offer(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    caller = "+359888100021"
    done = run_scenario(tmp_path, kamailio.port, late_offer_scenario(caller), timeout=20)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert_declined_by_key(node, caller)


def test_rtp_from_another_port_than_the_sdp_is_latched_onto(
    node: SipNode, kamailio: Kamailio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ivr.channels.sip.media")
    caller = "+359888100022"
    nat_port = free_udp_port()  # what the SDP says; SIPp sends from its own media port
    text = scenario(DECLINE, caller=caller).replace(
        "m=audio [media_port] RTP/AVP 0 96",
        # SIPp sends from the port its scenario names [media_port], so it is named, unused
        f"m=audio {nat_port} RTP/AVP 0 96\n      a=x-audio-sent-from:[media_port]",
    )
    done = run_scenario(tmp_path, kamailio.port, text, timeout=20)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert_declined_by_key(node, caller)
    assert any("caller's RTP comes from" in r.message for r in caplog.records)


def test_an_invite_straight_to_the_node_is_served(node: SipNode, tmp_path: Path) -> None:
    caller = "+359888100023"
    text = scenario(DECLINE, caller=caller)
    done = run_scenario(tmp_path, node.settings.sip_port, text, timeout=20)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert_declined_by_key(node, caller)


def test_a_cancel_while_the_node_rings_ends_the_call_with_487(
    node: SipNode, tmp_path: Path
) -> None:
    invite = scenario([], caller="caller", expect=180)  # up to the 180, then its ACK...
    invite = invite.replace('  <recv response="180" optional="true"/>\n', "", 1)
    head, _, ack = invite.partition('<recv response="180" rtd="true" rrs="true"></recv>\n')
    text = head + '<recv response="180"/>\n' + CANCEL_WHILE_RINGING + ack  # ...for the 487
    node.ready.clear()  # as while it loads its models: calls ring
    try:
        done = run_scenario(tmp_path, node.settings.sip_port, text, timeout=10)
    finally:
        node.ready.set()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    deadline = time.monotonic() + 5
    while node.calls_active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert node.calls_active == 0 and not node.phone.calls  # type: ignore[union-attr]


def test_a_bye_for_no_call_is_answered_481(node: SipNode, tmp_path: Path) -> None:
    done = run_scenario(tmp_path, node.settings.sip_port, STRAY_BYE, timeout=10)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_a_huge_header_is_answered_513(node: SipNode, kamailio: Kamailio, tmp_path: Path) -> None:
    padding = "X-Padding: " + "a" * 20000 + "\n      CSeq: 1 INVITE"
    text = scenario([], expect=513).replace("CSeq: 1 INVITE", padding, 1)
    before = node.calls_served
    done = run_scenario(tmp_path, kamailio.port, text, timeout=10)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert node.calls_served == before


def test_responses_to_nothing_of_ours_are_dropped_quietly(
    node: SipNode, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    port = node.settings.sip_port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        for datagram in BARE_RESPONSES:
            out.sendto(datagram, ("127.0.0.1", port))
    assert ask_options(port).startswith(b"SIP/2.0 200 OK")  # read after the responses
    assert "TODO" not in capfd.readouterr().out
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_the_first_packet_from_the_callers_host_is_latched_and_strangers_refused() -> None:
    events: queue.Queue[object] = queue.Queue()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as late,
    ):
        for sock, host in ((caller, "127.0.0.1"), (stranger, "127.0.0.2"), (late, "127.0.0.1")):
            sock.bind((host, 0))
            sock.settimeout(2)
        stream = MediaStream(
            local=("127.0.0.1", free_udp_port()),
            remote=("192.0.2.10", 4000),  # the SDP's private address behind the NAT
            audio_type=rtp.PCMU,
            event_type=101,
            events=events,  # type: ignore[arg-type]
            caller_host="127.0.0.1",  # where its SIP came from
        )
        stream.start()
        try:
            key = rtp.RtpPacket(
                payload_type=101, sequence=1, timestamp=800, ssrc=5, payload=b"\x05\x00\x00\xa0"
            )
            stranger.sendto(rtp.build(key), ("127.0.0.1", stream.inPort))
            caller.sendto(rtp.build(key), ("127.0.0.1", stream.inPort))
            assert events.get(timeout=2) == KeyPressed("5")
            sent, source = caller.recvfrom(2048)  # ours now go where the caller's came from
            assert source[1] == stream.inPort and rtp.parse(sent).payload_type == rtp.PCMU
            late.sendto(rtp.build(key), ("127.0.0.1", stream.inPort))  # latched: not this port
            deadline = time.monotonic() + 2
            while stream.refused < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert stream.refused == 2 and events.empty()
        finally:
            stream.stop()
