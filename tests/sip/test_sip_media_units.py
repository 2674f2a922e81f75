"""The SIP channel's pure parts and pyVoIP patches, without a network: RTP framing, G.711 at
16 bits, RFC 2833 keys once per press, the prompt playout, codec choice, SIP parsing."""

from __future__ import annotations

import math

import pytest
from pyVoIP.RTP import PayloadType

from ivr.channels.sip import dialing, rtp
from ivr.channels.sip.leg import UnsupportedMedia, choose_codecs
from ivr.channels.sip.line import RELAY_MAX_BYTES, relay
from ivr.channels.sip.media import Playout
from ivr.channels.sip.phone import (
    parse_message,
    patch_methods,
    request_user,
    via_address,
)


def sine(seconds: float, hz: float = 440, amplitude: int = 8000) -> bytes:
    count = int(8000 * seconds)
    return b"".join(
        int(amplitude * math.sin(2 * math.pi * hz * n / 8000)).to_bytes(2, "little", signed=True)
        for n in range(count)
    )


def test_an_rtp_packet_survives_building_and_parsing() -> None:
    packet = rtp.RtpPacket(
        payload_type=8, sequence=65535, timestamp=2**32 - 1, ssrc=1234, payload=b"\xd5" * 160
    )
    assert rtp.parse(rtp.build(packet)) == packet


def test_csrcs_extensions_and_padding_are_skipped() -> None:
    header = bytes([0x80 | 0x20 | 0x10 | 1, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7])
    csrc = b"\0\0\0\x09"
    extension = b"\xbe\xde\x00\x01" + b"\1\2\3\4"
    body = header + csrc + extension + b"\xff" * 4 + b"\0\0\x03"
    assert rtp.parse(body).payload == b"\xff" * 4


@pytest.mark.parametrize(
    ("datagram", "problem"),
    [
        (b"\x80\x00", "too short"),
        (bytes([0x40]) + bytes(11), "version 1"),
        (bytes([0x8F]) + bytes(11), "longer than the packet"),
    ],
)
def test_garbage_is_refused_with_its_reason(datagram: bytes, problem: str) -> None:
    with pytest.raises(rtp.RtpError, match=problem):
        rtp.parse(datagram)


@pytest.mark.parametrize("payload_type", [rtp.PCMU, rtp.PCMA])
def test_g711_round_trips_16_bit_audio_closely(payload_type: int) -> None:
    pcm = sine(0.1)
    heard = rtp.decode(payload_type, rtp.encode(payload_type, pcm))
    assert len(heard) == len(pcm)
    worst = max(
        abs(
            int.from_bytes(pcm[i : i + 2], "little", signed=True)
            - int.from_bytes(heard[i : i + 2], "little", signed=True)
        )
        for i in range(0, len(pcm), 2)
    )
    assert worst < 300  # G.711's step at 8000 is ~256; pyVoIP's 8-bit path loses far more


def test_pcma_is_encoded_as_pcma_not_pcmu() -> None:
    pcm = sine(0.02)
    assert rtp.encode(rtp.PCMA, pcm) != rtp.encode(rtp.PCMU, pcm)


def event(key: int, timestamp: int, *, ssrc: int = 1, end: bool = False) -> rtp.RtpPacket:
    payload = bytes([key, 0x80 if end else 0, 0, 160])
    return rtp.RtpPacket(
        payload_type=96, sequence=0, timestamp=timestamp, ssrc=ssrc, payload=payload
    )


def test_a_key_is_reported_once_over_its_repeats_and_end_packets() -> None:
    keys = rtp.KeyEvents()
    presses = [event(1, 100), event(1, 100), event(1, 100, end=True), event(1, 100, end=True)]
    presses += [event(11, 900), event(11, 900, end=True), event(1, 900, ssrc=2)]
    assert [keys.key(p) for p in presses] == ["1", None, None, None, "#", None, "1"]


def test_tones_that_are_not_keys_are_ignored() -> None:
    assert rtp.KeyEvents().key(event(40, 1)) is None
    with pytest.raises(rtp.RtpError):
        rtp.KeyEvents().key(
            rtp.RtpPacket(payload_type=96, sequence=0, timestamp=0, ssrc=0, payload=b"\1")
        )


def test_the_playout_reports_each_prompt_after_its_last_frame() -> None:
    playout = Playout()
    playout.add(b"\1\0" * 250, "m1")  # 500 bytes: 1.6 frames
    playout.add(b"\2\0" * 10, "m2")
    first, done = playout.frame()
    assert len(first) == rtp.FRAME_BYTES and done == []
    second, done = playout.frame()
    assert done == ["m1", "m2"] and second[180:200] == b"\2\0" * 10 and second[-2:] == b"\0\0"
    assert not playout.busy
    assert playout.frame() == (b"\0" * rtp.FRAME_BYTES, [])


def test_barge_in_drops_queued_prompts_without_their_marks() -> None:
    playout = Playout()
    playout.add(b"\1\0" * 1000, "m1")
    playout.frame()
    playout.clear()
    assert playout.frame() == (b"\0" * rtp.FRAME_BYTES, [])


def test_the_first_g711_codec_offered_is_answered_with_its_event_type() -> None:
    offer = {18: PayloadType.G729, 8: PayloadType.PCMA, 0: PayloadType.PCMU, 101: PayloadType.EVENT}
    assert choose_codecs(offer) == (8, 101)
    assert choose_codecs({0: PayloadType.PCMU}) == (0, None)


def test_an_offer_without_g711_is_unsupported() -> None:
    with pytest.raises(UnsupportedMedia, match="G729"):
        choose_codecs({18: PayloadType.G729, 96: PayloadType.UNKNOWN})


def test_methods_pyvoip_drops_are_parsed_with_their_body_kept() -> None:
    patch_methods()
    raw = (
        b"NOTIFY sip:civicline@127.0.0.1:5070 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport=5099;received=10.0.0.2\r\n"
        b"From: <sip:pbx@10.0.0.1>;tag=a\r\nTo: <sip:civicline@10.0.0.9>;tag=b\r\n"
        b"Call-ID: abc\r\nCSeq: 2 NOTIFY\r\nEvent: refer\r\n"
        b"Content-Type: message/sipfrag\r\nContent-Length: 16\r\n\r\nSIP/2.0 200 OK\r\n"
    )
    message, body = parse_message(raw)
    assert message.method == "NOTIFY" and body == b"SIP/2.0 200 OK\r\n"
    assert via_address(message) == ("10.0.0.2", 5099)


def test_the_request_uri_user_is_read() -> None:
    message, _ = parse_message(
        b"OPTIONS sip:+35982500100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4:5060\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"
    )
    assert request_user(message) == "+35982500100"


def test_headers_pyvoip_cannot_read_are_normalised() -> None:
    message, _ = parse_message(
        b"INVITE sip:civicline@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bK2\r\n"
        b"f:<sip:+40722111222@a>;tag=1\r\nt: <sip:civicline@b>\r\ni: y\r\nCSeq: 1 INVITE\r\n"
        b"Supported:\r\n\r\n"
    )
    assert message.headers["From"]["number"] == "+40722111222"
    assert message.headers["Call-ID"] == "y" and "Supported" not in message.headers


INVITE = (
    "INVITE sip:+35982500100@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:+35982500100@127.0.0.1>\r\n"
    "From: <sip:civicline@127.0.0.1>;tag=ours\r\n"
    "Call-ID: leg2\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n"
)


def test_a_cancel_matches_the_invite_it_cancels() -> None:
    cancel = dialing.cancel_for(INVITE)
    assert cancel.startswith("CANCEL sip:+35982500100@127.0.0.1:5060 SIP/2.0\r\n")
    for line in ("branch=z9hG4bKabc", "tag=ours", "Call-ID: leg2", "CSeq: 7 CANCEL"):
        assert line in cancel
    assert "To: <sip:+35982500100@127.0.0.1>\r\n" in cancel


def test_an_ack_carries_the_tag_the_answer_gave() -> None:
    to = "<sip:+35982500100@127.0.0.1>;tag=theirs"
    failed = dialing.ack_for(INVITE, to)
    assert failed.startswith("ACK sip:+35982500100@127.0.0.1:5060 ") and f"To: {to}" in failed
    answered = dialing.ack_for(INVITE, to, "sip:agent@10.0.0.7:5090")
    assert answered.startswith("ACK sip:agent@10.0.0.7:5090 ") and "CSeq: 7 ACK" in answered


def test_a_refer_is_sent_within_the_callers_dialog() -> None:
    dialog = dialing.Dialog(
        call_id="c1",
        local_uri="<sip:civicline@10.0.0.1>",
        local_tag="ours",
        remote_uri="<sip:+40722111222@10.0.0.2>",
        remote_tag="theirs",
        remote_target="sip:phone@10.0.0.2:5062",
        cseq=4,
    )
    refer = dialing.refer(dialog, "sip:+35982500100@pbx", "10.0.0.1:5070", "sip:civicline@x")
    assert refer.startswith("REFER sip:phone@10.0.0.2:5062 SIP/2.0")
    assert "From: <sip:civicline@10.0.0.1>;tag=ours" in refer
    assert "To: <sip:+40722111222@10.0.0.2>;tag=theirs" in refer
    assert "Refer-To: <sip:+35982500100@pbx>" in refer and "CSeq: 4 REFER" in refer


@pytest.mark.parametrize(
    ("status", "result"),
    [(200, "answered"), (486, "busy"), (480, "no-answer"), (487, "no-answer"), (404, "failed")],
)
def test_sip_statuses_become_transfer_results(status: int, result: str) -> None:
    assert dialing.transfer_result(status) == result


def test_a_notify_sipfrag_gives_its_status() -> None:
    assert dialing.sipfrag_status(b"SIP/2.0 180 Ringing\r\n") == 180
    assert dialing.sipfrag_status(b"garbage") is None


def test_a_bridge_drops_audio_rather_than_building_up_delay() -> None:
    playout = Playout()
    for _ in range(30):
        relay(playout, b"\1\0" * rtp.SAMPLES_PER_FRAME)
    assert playout.queued == RELAY_MAX_BYTES  # 200 ms, not 600
    playout.frame()
    assert playout.queued == RELAY_MAX_BYTES - rtp.FRAME_BYTES
