"""Small patches over pyVoIP 1.6.8's SIP handling, by subclassing (README: "SIP channel").

- A new call is handed over at once (pyVoIP waits a fixed second in a `Timer(1, …)`).
- Only INVITE, ACK, BYE and CANCEL parse in pyVoIP; anything else is dropped unanswered. Here
  OPTIONS is answered 200 (Kamailio's dispatcher pings nodes with it), NOTIFY and INFO go to
  their call (transfer progress, SIP INFO keys), and other requests get 501.
- A request for a user this node does not serve is answered 404, an offer without PCMU or
  PCMA 488, a BYE or CANCEL for no call of ours 481, a message over `MAX_MESSAGE_BYTES` 513;
  a message that does not parse is logged, a response to nothing of ours dropped quietly
  (pyVoIP reads 8 KB of a datagram and prints "TODO" for responses it does not expect).
- The SIP socket is read after `select` instead of pyVoIP's 10 ms busy poll.
- Media is `media.MediaStream` (16-bit PCM, paced sender, one remote address) with the codec
  chosen from the caller's offer (`leg.CivicCall`).
- Warnings pyVoIP raises per unknown codec are silenced: it resets the process's warning
  filters after each.
- Registration is `registration.Registration`'s, fed by this socket's one reader: UDP only,
  and a 401 challenge (a 407 is not answered), so the registrar must challenge with
  `www_challenge` (deploy/kamailio.cfg does).
"""

from __future__ import annotations

import logging
import queue
import re
import secrets
import select
import socket
import threading
import warnings
from typing import Any

import pyVoIP
from pyVoIP import RTP, SIP
from pyVoIP.util import acquired_lock_and_unblocked_socket
from pyVoIP.VoIP import CallState, VoIPPhone

from ivr.channels.sip import dialing
from ivr.channels.sip.leg import (
    OUR_OFFER,
    CivicCall,
    UnsupportedMedia,
    record_routes,
    via_address,
    with_headers,
)
from ivr.channels.sip.media import (
    AgentSink,
    KeyPressed,
    LineEvent,
    ReferProgress,
)
from ivr.channels.sip.registration import Registration

log = logging.getLogger(__name__)

BODY_METHODS = ("OPTIONS", "NOTIFY", "INFO", "REFER", "MESSAGE", "SUBSCRIBE", "UPDATE", "PRACK")
"""Methods pyVoIP does not parse; their bodies (sipfrag, dtmf-relay) are read here."""
SELECT_SECONDS = 0.2
MAX_DATAGRAM = 65535
MAX_MESSAGE_BYTES = 16384
"""Larger requests are answered 513 Message Too Large (a 20 KB header is junk, not a call)."""
REQUEST_USER = re.compile(rb"^[A-Z]+ sips?:(?:([^@;>\s]+)@)?")
COMPACT_NAMES = {
    b"i": b"Call-ID",
    b"m": b"Contact",
    b"e": b"Content-Encoding",
    b"l": b"Content-Length",
    b"c": b"Content-Type",
    b"f": b"From",
    b"k": b"Supported",
    b"t": b"To",
    b"v": b"Via",
}
"""RFC 3261's compact header names, which pyVoIP does not know."""
INFO_KEY = re.compile(r"Signal\s*=\s*([0-9*#A-D])", re.IGNORECASE)


class CivicSipClient(SIP.SIPClient):
    phone: CivicPhone
    registration: Registration

    def start(self) -> None:
        """Bind, read, and register in the background (`registration.settled` tells how it went)."""
        if self.NSD:
            raise RuntimeError("the SIP client is already started")
        self.NSD = True
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((self.myIP, self.myPort))
        self.out = self.s
        threading.Thread(target=self.recv_loop, name="sip-recv", daemon=True).start()
        self.registration = Registration(self)
        self.registration.start()

    def stop(self) -> None:
        """Unregister (briefly), then stop reading."""
        if not self.NSD:
            return
        self.registration.stop()
        self.NSD = False
        self._close_sockets()

    def send_to_registrar(self, message: str) -> None:
        self.out.sendto(message.encode("utf8"), (self.server, self.port))

    def recv_loop(self) -> None:
        while self.NSD:
            try:
                readable, _, _ = select.select([self.s], [], [], SELECT_SECONDS)
            except (OSError, ValueError):
                return  # the socket closed: the phone stopped
            if not readable:
                continue
            try:
                with acquired_lock_and_unblocked_socket(self.recvLock, self.s):
                    self.recv()
            except BlockingIOError:
                continue  # another thread (registration) read it first
            except OSError:
                return

    def recv(self) -> None:
        raw = self.s.recv(MAX_DATAGRAM)
        if not raw.strip(b"\r\n\x00"):
            return  # keep-alive
        try:
            message, body = parse_message(raw)
        except Exception as error:  # pyVoIP's parser raises anything on garbage
            log.warning("malformed SIP message dropped (%s): %r", error, raw[:200])
            return
        log.debug("SIP in: %s (%s)", message.heading[:80], message.headers.get("Call-ID"))
        try:
            if len(raw) > MAX_MESSAGE_BYTES and message.type == SIP.SIPMessageType.MESSAGE:
                log.warning("SIP %s of %d bytes refused (513)", message.method, len(raw))
                if message.method != "ACK":
                    self.respond(message, "513 Message Too Large")
            elif message.type == SIP.SIPMessageType.MESSAGE and message.method in BODY_METHODS:
                self.phone.other_request(message, body)
            else:
                self.parse_message(message)
        except Exception:  # one bad message must not stop the node's SIP thread
            log.exception("SIP %s could not be handled", message.heading[:80])

    def parse_message(self, message: SIP.SIPMessage) -> None:
        call = self.phone.calls.get(message.headers.get("Call-ID", ""))
        if message.type == SIP.SIPMessageType.RESPONSE:
            self.take_response(message, call)
        elif message.method in ("BYE", "CANCEL") and not isinstance(call, CivicCall):
            self.respond(message, "481 Call/Transaction Does Not Exist")
        elif message.method == "BYE" and isinstance(call, CivicCall):
            call.bye()
            self.respond(message, "200 OK")
        elif message.method == "CANCEL" and isinstance(call, CivicCall):
            self.respond(message, "200 OK")
            call.cancelled()
        elif message.method == "ACK" and isinstance(call, CivicCall):
            call.acknowledged(message)
        else:
            super().parse_message(message)

    def take_response(self, response: SIP.SIPMessage, call: object) -> None:
        """A response to our REGISTER, INVITE or REFER; any other is dropped without a word
        (pyVoIP would print "TODO" or act on a call it is not about)."""
        cseq = response.headers.get("CSeq")
        method = cseq.get("method") if isinstance(cseq, dict) else None
        if method == "REGISTER":
            self.registration.answers.put(response)
        elif not (isinstance(call, CivicCall) and call.handle_response(response)):
            log.debug("SIP response %r for nothing of ours dropped", response.heading[:80])

    def respond(self, request: SIP.SIPMessage, status: str) -> None:
        """A final response without a body, sent back along the request's top Via."""
        response = self.gen_ok(request).replace("SIP/2.0 200 OK", f"SIP/2.0 {status}", 1)
        self.out.sendto(response.encode("utf8"), via_address(request))


def parse_message(raw: bytes) -> tuple[SIP.SIPMessage, bytes]:
    """pyVoIP's parser, taught the methods it refuses; a body it cannot parse is kept raw."""
    head, _, body = raw.partition(b"\r\n\r\n")
    head = normalize_headers(head)
    method = raw.split(b" ", 1)[0].decode("ascii", "replace")
    if method in BODY_METHODS:
        return SIP.SIPMessage(head + b"\r\n\r\n"), body
    return SIP.SIPMessage(head + b"\r\n\r\n" + body), body


def normalize_headers(head: bytes) -> bytes:
    """Headers as pyVoIP's parser needs them: `Name: value`, long names, no empty headers
    (it fails on baresip's bare `Supported:` and on `Name:value` without a space)."""
    first, *lines = head.split(b"\r\n")
    kept = [first]
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not value.strip():
            continue
        long_name = COMPACT_NAMES.get(name.strip().lower(), name.strip())
        kept.append(long_name + b": " + value.strip())
    return b"\r\n".join(kept)


def request_user(request: SIP.SIPMessage) -> str | None:
    found = REQUEST_USER.match(request.heading)
    return found.group(1).decode("utf8", "replace") if found and found.group(1) else None


class CivicPhone(VoIPPhone):
    """A VoIPPhone that serves the users in `accept_users` and hands calls over at once."""

    sip: CivicSipClient

    def __init__(self, *args: Any, accept_users: frozenset[str], **kwargs: Any) -> None:
        patch_methods()
        super().__init__(*args, **kwargs)
        self.accept_users = accept_users | {self.username}
        self.sip = CivicSipClient(
            self.server,
            self.port,
            self.username,
            self.password,
            phone=self,
            myIP=self.myIP,
            myPort=kwargs.get("sipPort", 5060),
            callCallback=self.callback,
            fatalCallback=self.fatal,
        )
        self.lock = threading.Lock()

    def _callback_MSG_Invite(self, request: SIP.SIPMessage) -> None:
        call_id = request.headers["Call-ID"]
        if call_id in self.calls:
            if self.calls[call_id].state != CallState.RINGING:
                self.calls[call_id].renegotiate(request)
            return
        user = request_user(request)
        if user not in self.accept_users:
            log.warning("INVITE for unknown user %r refused (404)", user)
            self.sip.respond(request, "404 Not Found")
            return
        if self.callCallback is None:
            self.sip.respond(request, "486 Busy Here")
            return
        ringing = with_headers(self.sip.gen_ringing(request), record_routes(request))
        self.sip.out.sendto(ringing.encode("utf8"), via_address(request))
        try:
            with warnings.catch_warnings():  # pyVoIP warns per unknown codec, then resets
                warnings.simplefilter("ignore")  # the process's warning filters: not here
                call = CivicCall(self, CallState.RINGING, request, self._session_id(), self.myIP)
            if not call.RTPClients and not call.late_offer:
                raise UnsupportedMedia("offer has no audio stream")
        except (UnsupportedMedia, KeyError, IndexError, ValueError) as error:
            reason = f"its SDP has no {error} line" if isinstance(error, KeyError) else error
            log.warning("call %s refused (488): %s", call_id, reason)
            self.release_ports()
            self.sip.respond(request, "488 Not Acceptable Here")
            return
        self.calls[call_id] = call
        thread = threading.Timer(0, self.callCallback, [call])
        thread.name = f"sip-call:{call_id[:16]}"
        thread.daemon = True
        with self.lock:
            self.threads.append(thread)
            self.threadLookup[thread] = call_id
        thread.start()

    def dial(self, user: str, events: queue.Queue[LineEvent]) -> CivicCall:
        """Call `user` at the registrar (a bridge's second leg); its outcome and media come to
        `events` (LegAnswered or LegFailed, then FromAgent)."""
        port = self.request_port()
        medias: dict[int, dict[Any, RTP.PayloadType]] = {port: dict(OUR_OFFER)}
        call_id = self.sip.gen_call_id()
        session = self._session_id()
        branch = "z9hG4bK" + secrets.token_hex(12)
        invite = self.sip.gen_invite(
            user, str(session), medias, RTP.TransmitType.SENDRECV, branch, call_id
        )
        call = CivicCall(
            self,
            CallState.DIALING,
            SIP.SIPMessage(invite.encode("utf8")),
            session,
            self.myIP,
            ms=medias,
            events=events,
            media_sink=AgentSink(events),
            invite=invite,
        )
        self.calls[call_id] = call
        self.send(invite)
        return call

    def send(self, message: str) -> None:
        """A request (or ACK) to the registrar, which routes it."""
        self.sip.out.sendto(message.encode("utf8"), (self.server, self.port))

    def _session_id(self) -> int:
        with self.lock:
            proposed = max(self.session_ids, default=0) + 1
            self.session_ids.append(proposed)
            return proposed

    def other_request(self, request: SIP.SIPMessage, body: bytes) -> None:
        method = request.method
        call = self.calls.get(request.headers.get("Call-ID", ""))
        if method == "OPTIONS":
            self.sip.respond(request, "200 OK")
        elif method in ("NOTIFY", "INFO") and isinstance(call, CivicCall):
            self.sip.respond(request, "200 OK")
            if method == "INFO":
                found = INFO_KEY.search(body.decode("utf8", "replace"))
                if found:
                    call.events.put(KeyPressed(found.group(1)))
            else:
                status = dialing.sipfrag_status(body)
                if status is not None:
                    call.events.put(ReferProgress(status))
        elif method in ("NOTIFY", "INFO"):
            self.sip.respond(request, "481 Call/Transaction Does Not Exist")
        else:
            log.info("SIP %s answered 501", method)
            self.sip.respond(request, "501 Not Implemented")


def patch_methods() -> None:
    """Let pyVoIP's parser read the methods above (it refuses any method not in this list)."""
    for method in BODY_METHODS:
        if method not in pyVoIP.SIPCompatibleMethods:
            pyVoIP.SIPCompatibleMethods.append(method)
