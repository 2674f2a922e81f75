"""RTP framing and G.711 payloads, pure: bytes in, typed values out (no sockets, no clock).

pyVoIP 1.6.8 decodes PCMU/PCMA to 8-bit unsigned samples (and encodes PCMA as PCMU); here a
payload becomes 16-bit signed PCM at 8 kHz, the format speech/ and the prompts use. RFC 2833
telephone events are reported once per key press: an event is identified by its SSRC and RTP
timestamp, which stay the same over its repeated packets and its three end packets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from speech.audio import alaw_to_pcm, pcm_to_alaw, pcm_to_ulaw, ulaw_to_pcm

PCMU = 0
PCMA = 8
AUDIO_CODECS = {"PCMU": PCMU, "PCMA": PCMA}
"""What we answer with, by SDP name, in our order of preference."""
SAMPLES_PER_FRAME = 160
"""20 ms at 8 kHz."""
FRAME_BYTES = 2 * SAMPLES_PER_FRAME
"""One frame of 16-bit PCM."""
HEADER = struct.Struct("!BBHII")
EVENT_KEYS = "0123456789*#ABCD"


class RtpError(ValueError):
    """A datagram that is not an RTP packet we can use."""


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False


def parse(datagram: bytes) -> RtpPacket:
    """One RTP packet; RtpError for anything else (too short, not version 2, bad padding)."""
    if len(datagram) < HEADER.size:
        raise RtpError(f"{len(datagram)} bytes is too short for RTP")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(datagram)
    if first >> 6 != 2:
        raise RtpError(f"RTP version {first >> 6}, not 2")
    start = HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # a header extension: 16-bit profile, 16-bit length in words
        if len(datagram) < start + 4:
            raise RtpError("truncated RTP header extension")
        (words,) = struct.unpack_from("!H", datagram, start + 2)
        start += 4 + 4 * words
    end = len(datagram)
    if first & 0x20:
        end -= datagram[-1]
    if start > end:
        raise RtpError("RTP header longer than the packet")
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=datagram[start:end],
        marker=bool(second & 0x80),
    )


def build(packet: RtpPacket) -> bytes:
    second = (0x80 if packet.marker else 0) | packet.payload_type
    header = HEADER.pack(
        0x80, second, packet.sequence & 0xFFFF, packet.timestamp & 0xFFFFFFFF, packet.ssrc
    )
    return header + packet.payload


def decode(payload_type: int, payload: bytes) -> bytes:
    """A G.711 payload as 16-bit PCM."""
    if payload_type == PCMU:
        return ulaw_to_pcm(payload)
    if payload_type == PCMA:
        return alaw_to_pcm(payload)
    raise RtpError(f"payload type {payload_type} is not G.711")


def encode(payload_type: int, pcm: bytes) -> bytes:
    """16-bit PCM as a G.711 payload."""
    if payload_type == PCMU:
        return pcm_to_ulaw(pcm)
    if payload_type == PCMA:
        return pcm_to_alaw(pcm)
    raise RtpError(f"payload type {payload_type} is not G.711")


@dataclass
class KeyEvents:
    """RFC 2833 packets in, each key press out once (retransmissions and end packets dropped)."""

    last: tuple[int, int] | None = None
    """(SSRC, timestamp) of the last event reported."""

    def key(self, packet: RtpPacket) -> str | None:
        if len(packet.payload) < 4:
            raise RtpError("telephone-event payload shorter than 4 bytes")
        event = packet.payload[0]
        if event >= len(EVENT_KEYS):
            return None  # tones and flash hook: not keys
        if (packet.ssrc, packet.timestamp) == self.last:
            return None
        self.last = (packet.ssrc, packet.timestamp)
        return EVENT_KEYS[event]
