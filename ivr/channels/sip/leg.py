"""One call leg over pyVoIP's VoIPCall: its media is a MediaStream with the codec chosen
from the offer, and the requests pyVoIP cannot make (CANCEL, REFER, a dialog's ACK) are sent
from here (built by `dialing`). A leg we answered reports to its own queue; a transfer's
second leg, which we placed, reports to its caller's.

Answers go back along the INVITE's Via (pyVoIP sends them to the registrar, so a caller who
called the node straight never got its 200) and carry its Record-Route (pyVoIP drops it, so
the caller's ACK and BYE bypassed Kamailio); our BYE goes to the registrar with that route
for a call that came through a proxy, straight back to the caller otherwise. An INVITE
without SDP (late offer) is answered with our offer in the 200 OK, retransmitted until the
ACK brings the caller's answer.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

from pyVoIP import RTP, SIP
from pyVoIP.VoIP import CallState, InvalidStateError, VoIPCall

from ivr.channels.sip import dialing, rtp
from ivr.channels.sip.media import (
    LegAnswered,
    LegFailed,
    LineEvent,
    MediaStream,
    ReferProgress,
    Sink,
)

if TYPE_CHECKING:
    from ivr.channels.sip.phone import CivicPhone

log = logging.getLogger(__name__)

OUR_OFFER = {0: RTP.PayloadType.PCMU, 8: RTP.PayloadType.PCMA, 101: RTP.PayloadType.EVENT}
"""What we offer when we make the offer: a transfer's second leg, a late-offer 200 OK."""
SENDRECV = "sendrecv"
FIRST_RETRANSMIT, LAST_RETRANSMIT = 0.5, 4.0
"""RFC 3261 timers T1 and T2: a 200 OK is sent again at T1, doubling up to T2..."""
ACK_SECONDS = 32.0
"""...until its ACK comes, or for 64 × T1."""


class UnsupportedMedia(Exception):
    """An offer we cannot answer: no PCMU or PCMA audio, or an SDP without its lines."""


class NotAnswered(Exception):
    """A call that ended before it was set up: cancelled by the caller while it rang, or a
    late offer whose ACK never came or carried no usable SDP answer."""


def sdp_codecs(media: dict[str, Any]) -> dict[int, RTP.PayloadType]:
    """Payload type → pyVoIP's PayloadType of one parsed `m=` line (unknown names left out)."""
    codecs: dict[int, RTP.PayloadType] = {}
    for number in media["methods"]:
        rtpmap = media["attributes"].get(number, {}).get("rtpmap")
        for key in (int(number), rtpmap and rtpmap["name"]):
            try:
                codecs[int(number)] = RTP.PayloadType(key)
                break
            except ValueError:
                continue
    return codecs


def via_address(request: SIP.SIPMessage) -> tuple[str, int]:
    """Where a request came from, by its top Via (`received` and `rport` if a NAT moved it)."""
    via = request.headers["Via"][0]
    host = via.get("received") or via["address"][0]
    port = via.get("rport") or via["address"][1]
    return host, int(port)


def signalling_host(request: SIP.SIPMessage) -> str:
    """The caller's own address: its Via, the last one (proxies add theirs above it)."""
    via = request.headers["Via"][-1]
    return str(via.get("received") or via["address"][0])


def record_routes(request: SIP.SIPMessage) -> list[str]:
    """The request's Record-Route header lines, in order (pyVoIP's parser keeps only one)."""
    head = request.raw.split(b"\r\n\r\n", 1)[0].decode("utf8", "replace")
    return [line for line in head.split("\r\n")[1:] if line.lower().startswith("record-route:")]


def with_headers(message: str, lines: list[str]) -> str:
    """`message` (a request or response we wrote) with `lines` added to its headers."""
    if not lines:
        return message
    head, blank, body = message.partition("\r\n\r\n")
    return "\r\n".join([head, *lines]) + blank + body


def came_straight(request: SIP.SIPMessage) -> bool:
    """The INVITE came from the caller itself, not through a proxy (Kamailio)."""
    return len(request.headers["Via"]) == 1 and "Record-Route" not in request.headers


def choose_codecs(offered: dict[int, Any]) -> tuple[int, int | None]:
    """The first G.711 payload type the caller offered, and its telephone-event type if any."""
    audio = next(
        (pt for pt, kind in offered.items() if str(kind) in rtp.AUDIO_CODECS and pt < 96),
        None,
    )
    if audio is None:
        names = ", ".join(str(kind) for kind in offered.values()) or "nothing"
        raise UnsupportedMedia(f"offer has no PCMU or PCMA audio (offered: {names})")
    event = next((pt for pt, kind in offered.items() if kind == RTP.PayloadType.EVENT), None)
    return audio, event


class CivicCall(VoIPCall):
    """A VoIPCall whose media is one MediaStream; line events arrive on `events`."""

    phone: CivicPhone

    def __init__(
        self,
        phone: CivicPhone,
        callstate: CallState,
        request: SIP.SIPMessage,
        session_id: int,
        my_ip: str,
        *,
        ms: Any = None,  # port → {payload type: codec}; pyVoIP's annotation says otherwise
        events: queue.Queue[LineEvent] | None = None,
        media_sink: Sink | None = None,
        invite: str | None = None,
    ) -> None:
        self.events: queue.Queue[LineEvent] = events if events is not None else queue.Queue()
        """What the call's driver reads (a transfer's second leg reports to its caller's)."""
        self.media_sink: Sink = media_sink if media_sink is not None else self.events
        self.invite = invite
        """The text of the INVITE we sent, for a call we placed (a bridge's second leg)."""
        self.late_offer = callstate == CallState.RINGING and not request.body.get("m")
        """An INVITE without SDP: we offer in the 200 OK, the caller answers in the ACK."""
        self._ack: SIP.SIPMessage | None = None
        self._acked = threading.Event()
        if self.late_offer:
            # pyVoIP reads the offer in its constructor; with none, it is set up like a call
            # we place (our offer on one port), then rings like the call it is
            ms = {phone.request_port(): dict(OUR_OFFER)}
            super().__init__(phone, CallState.DIALING, request, session_id, my_ip, ms, SENDRECV)
            self.state = CallState.RINGING
        else:
            super().__init__(phone, callstate, request, session_id, my_ip, ms, SENDRECV)

    @property
    def media(self) -> MediaStream:
        stream = self.RTPClients[0]
        assert isinstance(stream, MediaStream)
        return stream

    def create_rtp_clients(
        self,
        codecs: dict[int, Any],
        ip: str,
        port: int,
        request: SIP.SIPMessage,
        baseport: int,
    ) -> None:
        if self.RTPClients:
            return  # one audio stream per call; another m= line is not answered
        audio, event = choose_codecs(codecs)
        received = self.invite is None
        stream = MediaStream(
            local=(ip, port),
            remote=(request.body["c"][0]["address"], int(baseport)),
            audio_type=audio,
            event_type=event,
            events=self.media_sink,
            caller_host=signalling_host(self.request) if received else None,
        )
        self.assignedPorts[port] = stream.assoc
        self.RTPClients.append(stream)

    def release(self) -> None:
        """Give the call's RTP port back, once."""
        self.phone.release_ports(call=self)
        self.assignedPorts = {}

    def __del__(self) -> None:
        """Nothing: pyVoIP's destructor gives the ports back, and a destructor can run inside
        `release_ports` (dropping a dead call) and deadlock on its lock. `release` does it."""

    def answer(self) -> None:
        """200 OK back along the Via; for a late offer, our offer, sent again until the ACK
        brings the caller's answer (NotAnswered if it never does, or the caller cancelled)."""
        if self.state == CallState.ENDED:
            raise NotAnswered("the caller cancelled while it rang")
        if self.state != CallState.RINGING:
            raise InvalidStateError("Call is not ringing")
        if not self.late_offer:
            ok = self.sip.gen_answer(self.request, self.session_id, self.gen_ms(), self.sendmode)
            ok = with_headers(ok, record_routes(self.request))
            self.sip.out.sendto(ok.encode("utf8"), via_address(self.request))
            self.state = CallState.ANSWERED
            return
        offer: dict[int, dict[int, RTP.PayloadType]] = self.ms  # type: ignore[assignment]  # see ms
        ok = self.sip.gen_answer(self.request, self.session_id, offer, self.sendmode)
        ok = with_headers(ok, record_routes(self.request))
        self.state = CallState.ANSWERED  # from our 200 on: too late to cancel
        self._send_until_acked(ok)
        try:
            if self._ack is None:
                raise NotAnswered(f"no ACK to our offer within {ACK_SECONDS:.0f} s")
            self._take_answer(self._ack)
        except NotAnswered:
            self.hangup()  # the caller may hold the dialog up: end it (RFC 3261 §13.3.1.4)
            raise

    def _send_until_acked(self, ok: str) -> None:
        waited, interval = 0.0, FIRST_RETRANSMIT
        while waited < ACK_SECONDS and self.phone.sip.NSD:
            self.sip.out.sendto(ok.encode("utf8"), via_address(self.request))
            if self._acked.wait(interval):
                return
            waited += interval
            interval = min(interval * 2, LAST_RETRANSMIT)

    def _take_answer(self, ack: SIP.SIPMessage) -> None:
        """The caller's SDP answer, from the ACK of a late offer: its codec and address."""
        try:
            media = next(m for m in ack.body.get("m", []) if m["type"] == "audio")
            self.create_rtp_clients(sdp_codecs(media), self.myIP, self.port, ack, media["port"])
        except StopIteration:
            raise NotAnswered("the ACK carried no SDP answer") from None
        except (UnsupportedMedia, KeyError, IndexError, ValueError) as error:
            raise NotAnswered(f"the ACK's SDP answer is unusable: {error!r}") from error
        self.gen_ms()  # starts the stream

    def cancelled(self) -> None:
        """The caller's CANCEL: a call still ringing (its node loading models) ends with 487."""
        if self.state != CallState.RINGING:
            return  # answered already: the caller ACKs and BYEs instead
        self.state = CallState.ENDED
        self.phone.calls.pop(self.call_id, None)
        self.phone.sip.respond(self.request, "487 Request Terminated")

    def acknowledged(self, ack: SIP.SIPMessage) -> None:
        """The caller's ACK of our 200 OK (pyVoIP ignores ACKs)."""
        if self.late_offer and not self._acked.is_set():
            self._ack = ack
            self._acked.set()

    def renegotiate(self, request: SIP.SIPMessage) -> None:
        """A re-INVITE: answered along its Via; the media follows the new offer's address."""
        ok = self.sip.gen_answer(request, self.session_id, self.gen_ms(), self.sendmode)
        self.sip.out.sendto(ok.encode("utf8"), via_address(request))
        media = next(m for m in request.body.get("m", []) if m["type"] == "audio")
        self.media.retarget((request.body["c"][0]["address"], int(media["port"])))

    def hangup(self) -> None:
        """BYE: to the registrar for a call that came through it, else straight to the caller."""
        if self.state != CallState.ANSWERED:
            raise InvalidStateError("Call is not answered")
        for stream in self.RTPClients:
            stream.stop()
        bye = self.sip.gen_bye(self.request)
        if self.invite is None:  # the route set of a dialog we answered: its Record-Route
            routes = record_routes(self.request)
            bye = with_headers(bye, [f"Route:{line.split(':', 1)[1]}" for line in routes])
        if self.invite is None and came_straight(self.request):
            self.sip.out.sendto(bye.encode("utf8"), via_address(self.request))
        else:
            self.phone.send(bye)
        self.state = CallState.ENDED
        self.phone.calls.pop(self.call_id, None)

    def handle_response(self, response: SIP.SIPMessage) -> bool:
        """A response to our INVITE (a second leg) or REFER; False leaves it to pyVoIP."""
        method, status = response.headers["CSeq"]["method"], int(response.status)
        if method == "REFER":
            self.events.put(ReferProgress(status))
            return True
        if method != "INVITE" or self.invite is None:
            return False
        if status < 200:
            return True
        to = response.headers["To"]
        to_header = f"{to['raw']};tag={to['tag']}" if to["tag"] else to["raw"]
        if status < 300:
            contact = uri_of(response.headers.get("Contact", ""))
            self.phone.send(dialing.ack_for(self.invite, to_header, contact or None))
            if self.state == CallState.DIALING:
                try:
                    self.answered(response)
                except UnsupportedMedia as error:
                    log.warning("transfer leg %s answered without G.711: %s", self.call_id, error)
                    self.events.put(LegFailed(488))
                    return True
                self.events.put(LegAnswered())
            return True
        self.phone.send(dialing.ack_for(self.invite, to_header))
        if self.state == CallState.DIALING:
            self.state = CallState.ENDED
            self.phone.calls.pop(self.call_id, None)
            self.events.put(LegFailed(status))
        return True

    def cancel(self) -> None:
        """Stop ringing a leg we placed (pyVoIP has no CANCEL)."""
        if self.invite is not None and self.state == CallState.DIALING:
            self.phone.send(dialing.cancel_for(self.invite))

    def refer(self, target: str) -> None:
        """Ask the caller's side to call `target` instead (pyVoIP has no REFER)."""
        headers = self.request.headers
        dialog = dialing.Dialog(
            call_id=self.call_id,
            local_uri=headers["To"]["raw"],
            local_tag=self.sip.tagLibrary[self.call_id],
            remote_uri=headers["From"]["raw"],
            remote_tag=headers["From"]["tag"],
            remote_target=uri_of(headers["Contact"]),
            cseq=int(headers["CSeq"]["check"]),
        )
        me = f"{self.sip.myIP}:{self.sip.myPort}"
        self.phone.send(dialing.refer(dialog, target, me, f"sip:{self.sip.username}@{me}"))


def uri_of(header: str) -> str:
    """The URI of a Contact or To header value (`"x" <sip:a@b>;p=1` → `sip:a@b`)."""
    inside = header.partition("<")[2].partition(">")[0]
    return inside or header.split(";")[0].strip()
