"""One call leg over pyVoIP's VoIPCall: its media is a MediaStream with the codec chosen
from the offer, and the requests pyVoIP cannot make (CANCEL, REFER, a dialog's ACK) are sent
from here (built by `dialing`). A leg we answered reports to its own queue; a transfer's
second leg, which we placed, reports to its caller's.
"""

from __future__ import annotations

import logging
import queue
from typing import TYPE_CHECKING, Any

import pyVoIP
from pyVoIP import SIP
from pyVoIP.VoIP import CallState, VoIPCall

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


class UnsupportedMedia(Exception):
    """An offer we cannot answer: no PCMU or PCMA audio, or no SDP at all."""


def choose_codecs(offered: dict[int, Any]) -> tuple[int, int | None]:
    """The first G.711 payload type the caller offered, and its telephone-event type if any."""
    audio = next(
        (pt for pt, kind in offered.items() if str(kind) in rtp.AUDIO_CODECS and pt < 96),
        None,
    )
    if audio is None:
        names = ", ".join(str(kind) for kind in offered.values()) or "nothing"
        raise UnsupportedMedia(f"offer has no PCMU or PCMA audio (offered: {names})")
    event = next((pt for pt, kind in offered.items() if kind == pyVoIP.RTP.PayloadType.EVENT), None)
    return audio, event


class CivicCall(VoIPCall):
    """A VoIPCall whose media is one MediaStream; line events arrive on `events`."""

    phone: CivicPhone

    def __init__(
        self,
        *args: Any,
        events: queue.Queue[LineEvent] | None = None,
        media_sink: Sink | None = None,
        invite: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.events: queue.Queue[LineEvent] = events if events is not None else queue.Queue()
        """What the call's driver reads (a transfer's second leg reports to its caller's)."""
        self.media_sink: Sink = media_sink if media_sink is not None else self.events
        self.invite = invite
        """The text of the INVITE we sent, for a call we placed (a bridge's second leg)."""
        super().__init__(*args, **kwargs)

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
        stream = MediaStream(
            local=(ip, port),
            remote=(request.body["c"][0]["address"], int(baseport)),
            audio_type=audio,
            event_type=event,
            events=self.media_sink,
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

    def renegotiate(self, request: SIP.SIPMessage) -> None:
        super().renegotiate(request)
        self.media.retarget((self.media.outIP, int(self.media.outPort)))

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
