"""One call's RTP over its own UDP socket, in place of pyVoIP's RTPClient.

pyVoIP 1.6.8's client busy-polls a non-blocking socket (sleeping 10 ms between tries), paces
its sender by sleeping after each packet (so lateness adds up), hands 8-bit audio through a
byte buffer keyed by timestamp, and takes packets from any address. `MediaStream` keeps its
interface (`start`, `stop`, `inPort`, `assoc`, which pyVoIP's VoIPCall uses) and replaces the
inside: a receiver thread blocked in `recvfrom` with a timeout, a sender paced on absolute
20 ms deadlines, 16-bit PCM both ways, and symmetric RTP ("comedia"): the first packet from
the caller's SDP address or signalling address, on any port (a NAT picks its own), fixes
where the caller's audio comes from and where ours goes; other addresses are refused. What it
hears and what finished playing go to the call's queue as `LineEvent`s.
"""

from __future__ import annotations

import logging
import queue
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from pyVoIP import RTP

from ivr.channels.call_recording import CallRecorder
from ivr.channels.sip import rtp

log = logging.getLogger(__name__)

FRAME_SECONDS = 0.02
RECEIVE_TIMEOUT_SECONDS = 0.2
RESYNC_SECONDS = 0.2
"""A sender this late (the machine stalled) starts a new schedule instead of bursting."""
MAX_INBOUND_BACKLOG = 3 * rtp.FRAME_BYTES
"""Caller audio waiting for the recording's next tick; more (a burst after a stall) is cut."""


@dataclass(frozen=True)
class Heard:
    """20 ms (or what the packet held) of the caller's audio, 16-bit PCM at 8 kHz."""

    pcm: bytes


@dataclass(frozen=True)
class KeyPressed:
    key: str


@dataclass(frozen=True)
class Played:
    """The caller has heard all of a prompt."""

    mark: str


@dataclass(frozen=True)
class MediaEnded:
    """The call's media stopped: a BYE from the caller, or our own hang-up."""


MediaEvent = Heard | KeyPressed | Played | MediaEnded


@dataclass(frozen=True)
class FromAgent:
    """A media event of the transfer's second leg (the agent's side of a bridge)."""

    event: MediaEvent


@dataclass(frozen=True)
class LegAnswered:
    """The agent answered the transfer's second leg."""


@dataclass(frozen=True)
class LegFailed:
    """The second leg ended without an answer: its final SIP status."""

    status: int


@dataclass(frozen=True)
class ReferProgress:
    """A REFER's answer (202, or a refusal) or a NOTIFY's sipfrag status."""

    status: int


LineEvent = MediaEvent | FromAgent | LegAnswered | LegFailed | ReferProgress


class Sink(Protocol):
    def put(self, item: MediaEvent) -> None: ...


@dataclass(frozen=True)
class AgentSink:
    """The second leg's media events, delivered to the call's queue as FromAgent."""

    events: queue.Queue[LineEvent]

    def put(self, item: MediaEvent) -> None:
        self.events.put(FromAgent(item))


@dataclass
class Playout:
    """Prompts waiting to be sent, each with the mark reported once its last frame is out."""

    segments: deque[tuple[bytes, str | None]] = field(default_factory=deque)
    offset: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, pcm: bytes, mark: str | None) -> None:
        with self.lock:
            self.segments.append((pcm, mark))

    def clear(self) -> None:
        """Stop playing (barge-in): what was queued is never heard, so no mark is reported."""
        with self.lock:
            self.segments.clear()
            self.offset = 0

    @property
    def queued(self) -> int:
        """Bytes still to send."""
        with self.lock:
            return sum(len(pcm) for pcm, _ in self.segments) - self.offset

    @property
    def busy(self) -> bool:
        with self.lock:
            return bool(self.segments)

    def frame(self) -> tuple[bytes, list[str]]:
        """The next 20 ms to send (silence when nothing plays) and the marks it finishes."""
        out = bytearray()
        finished: list[str] = []
        with self.lock:
            while len(out) < rtp.FRAME_BYTES and self.segments:
                pcm, mark = self.segments[0]
                take = pcm[self.offset : self.offset + rtp.FRAME_BYTES - len(out)]
                out += take
                self.offset += len(take)
                if self.offset >= len(pcm):
                    self.segments.popleft()
                    self.offset = 0
                    if mark is not None:
                        finished.append(mark)
        return bytes(out.ljust(rtp.FRAME_BYTES, b"\0")), finished


class MediaStream(RTP.RTPClient):
    """RTP for one call: `audio_type` (PCMU or PCMA) both ways, `event_type` for keys."""

    def __init__(
        self,
        *,
        local: tuple[str, int],
        remote: tuple[str, int],
        audio_type: int,
        event_type: int | None,
        events: Sink,
        caller_host: str | None = None,
    ) -> None:
        """`caller_host`: where the caller's SIP came from, trusted for media as well."""
        assoc = {audio_type: RTP.PayloadType(audio_type)}
        if event_type is not None:
            assoc[event_type] = RTP.PayloadType.EVENT
        super().__init__(assoc, local[0], local[1], remote[0], remote[1], RTP.TransmitType.SENDRECV)
        self.remote = remote
        self.hosts = frozenset({remote[0], caller_host or remote[0]})
        """Addresses whose first packet the stream latches onto, on any port."""
        self.latched = False
        self.audio_type = audio_type
        self.event_type = event_type
        self.events = events
        self.playout = Playout()
        self.keys = rtp.KeyEvents()
        self.running = False
        self.last_heard: float | None = None
        """monotonic() of the last packet from the caller; None before the first."""
        self.refused = 0
        """Datagrams dropped: from another address, not RTP, or an unknown payload type."""
        self._ended = threading.Event()
        self._threads: list[threading.Thread] = []
        self.recorder: CallRecorder | None = None
        """Both directions from `record_call`, on the sender's 20 ms clock."""
        self._inbound = bytearray()
        self._lock = threading.Lock()

    def record_call(self) -> None:
        """Keep the whole call's audio from now on (the caller consented)."""
        with self._lock:
            if self.recorder is None:
                self.recorder = CallRecorder(8000)
                self._inbound.clear()

    def start(self) -> None:
        if self.running:
            return  # pyVoIP's gen_ms starts its clients again on a re-INVITE
        self.sin = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sout = self.sin
        self.sin.bind((self.inIP, self.inPort))
        self.sin.settimeout(RECEIVE_TIMEOUT_SECONDS)
        self.running = True
        self.NSD = True
        for target, name in ((self._receive, "rtp-in"), (self._send, "rtp-out")):
            thread = threading.Thread(target=target, name=f"{name}:{self.inPort}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.running = False
        self.NSD = False
        if not self._ended.is_set():
            self._ended.set()
            self.events.put(MediaEnded())
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=1)
        if hasattr(self, "sin"):
            self.sin.close()

    def retarget(self, remote: tuple[str, int]) -> None:
        """A re-INVITE moved the caller's media: the next packet latches again."""
        self.remote = remote
        self.outIP, self.outPort = remote
        self.hosts = self.hosts | {remote[0]}
        self.latched = False

    def _admits(self, source: tuple[str, int]) -> bool:
        """From the latched address; before the first packet, from any port of the caller's."""
        return source == self.remote if self.latched else source[0] in self.hosts

    def _latch(self, source: tuple[str, int]) -> None:
        if self.latched:
            return
        self.latched = True
        if source != self.remote:
            log.info("port %d: caller's RTP comes from %s:%d, sending there", self.inPort, *source)
            self.remote = source

    def _receive(self) -> None:
        while self.running:
            try:
                datagram, source = self.sin.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return  # the socket closed under us: the call is over
            if not self._admits(source):
                self._refuse(f"RTP from {source[0]}:{source[1]}, expected {self.remote}")
                continue
            try:
                packet = rtp.parse(datagram)
                self._latch(source)
                self._take(packet)
            except rtp.RtpError as error:
                self._refuse(str(error))

    def _take(self, packet: rtp.RtpPacket) -> None:
        self.last_heard = time.monotonic()
        if packet.payload_type == self.audio_type:
            pcm = rtp.decode(packet.payload_type, packet.payload)
            if self.recorder is not None:
                with self._lock:
                    self._inbound += pcm
            self.events.put(Heard(pcm))
        elif packet.payload_type == self.event_type:
            key = self.keys.key(packet)
            if key is not None:
                log.debug("port %d: key %s", self.inPort, key)
                self.events.put(KeyPressed(key))
        else:
            raise rtp.RtpError(f"payload type {packet.payload_type} was not negotiated")

    def _refuse(self, reason: str) -> None:
        self.refused += 1
        if self.refused == 1 or self.refused % 500 == 0:
            log.warning("port %d: dropped %d datagram(s): %s", self.inPort, self.refused, reason)

    def _send(self) -> None:
        sequence = random.randrange(1 << 16)
        timestamp = random.randrange(1 << 32)
        ssrc = random.randrange(1 << 32)
        due = time.monotonic()
        first = True
        while self.running:
            pcm, finished = self.playout.frame()
            packet = rtp.RtpPacket(
                payload_type=self.audio_type,
                sequence=sequence,
                timestamp=timestamp,
                ssrc=ssrc,
                payload=rtp.encode(self.audio_type, pcm),
                marker=first,
            )
            try:
                self.sin.sendto(rtp.build(packet), self.remote)
            except OSError:
                if not self.running:
                    return
                log.warning("port %d: RTP to %s could not be sent", self.inPort, self.remote)
            self._record(pcm)
            for mark in finished:
                self.events.put(Played(mark))
            first = False
            sequence += 1
            timestamp += rtp.SAMPLES_PER_FRAME
            due += FRAME_SECONDS
            now = time.monotonic()
            if now - due > RESYNC_SECONDS:
                due = now
            time.sleep(max(0.0, due - now))

    def _record(self, sent: bytes) -> None:
        """One tick of the call recording: the frame sent and what the caller sent meanwhile
        (padded with silence, and never more than a few frames behind)."""
        if self.recorder is None:
            return
        with self._lock:
            del self._inbound[: max(0, len(self._inbound) - MAX_INBOUND_BACKLOG)]
            heard = bytes(self._inbound[: rtp.FRAME_BYTES]).ljust(rtp.FRAME_BYTES, b"\0")
            del self._inbound[: rtp.FRAME_BYTES]
            self.recorder.heard(heard)
            self.recorder.said(sent)
