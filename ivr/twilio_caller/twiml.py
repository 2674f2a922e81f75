"""Twilio's side of one call for the faithful Twilio caller (`twilio_caller`): the TwiML it is
answered with, carried out verb by verb, and the webhooks Twilio requests on the way.

`current()` is the leg the call is on (a Media Stream, a `<Gather>`, a `<Dial>`...); when that
leg ends, Twilio's next step is taken as documented: the action it posts to (whose TwiML then
replaces the document), or the document's next verb; `<Redirect>` fetches a new document; at
`<Hangup>`, `<Reject>` or the document's end the call is over. A webhook that fails, or answers
no TwiML, ends the call as Twilio ends it ("an application error has occurred"). The status
callback closes every call; its failure is only logged, as Twilio only logs it.
"""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urljoin

import requests

from ivr.twilio_caller.dial import DialLeg, dial_verb
from ivr.twilio_caller.line import (
    CallerError,
    Fetched,
    HungUp,
    Leg,
    LineClock,
    Request,
    Then,
    Transcript,
)
from ivr.twilio_caller.stream import CallIds, StreamLeg
from ivr.twilio_caller.verbs import (
    GatherLeg,
    Playing,
    PlayLeg,
    RecordLeg,
    gather_verb,
    prompts_of,
    record_verb,
)
from ivr.twilio_caller.webhooks import Webhooks

log = logging.getLogger(__name__)

VOICE_PATH = "/twilio/voice"
STATUS_PATH = "/twilio/status"
API_VERSION = "2010-04-01"


@dataclass(frozen=True)
class Line:
    """The call's numbers and how the caller behaves on it."""

    caller: str
    to: str
    patience: float
    """Line seconds the caller waits for the IVR to answer before it gives up listening."""
    talk_seconds: float
    """How long an answered transfer lasts."""
    account_sid: str
    transfer: str = "answered"
    """How a transfer ends when the script does not say (`TwilioCaller.transfer`)."""
    call_sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)


class TwimlCall:
    """One inbound call as Twilio carries it out."""

    def __init__(
        self, line: Line, webhooks: Webhooks, clock: LineClock, transcript: Transcript
    ) -> None:
        self.line, self.webhooks = line, webhooks
        self.clock, self.transcript = clock, transcript
        self.state = "new"
        """new, live (dialled), over."""
        self.ended_by: str | None = None
        """Who ended the call: "caller", "ivr" (its TwiML), or "twilio" (an application
        error: a webhook failed or answered no TwiML)."""
        self.leg: Leg | None = None
        self.verbs: deque[ET.Element] = deque()
        self.document = webhooks.public_url + VOICE_PATH
        """The URL of the TwiML under way (relative URLs and default actions start there)."""
        self.status_sequence = 0

    @property
    def call_sid(self) -> str:
        return self.line.call_sid

    def dial(self) -> None:
        """POST /twilio/voice (CallStatus ringing), then carry out its TwiML to its first leg."""
        self.state = "live"
        self._follow(Request(self.webhooks.public_url + VOICE_PATH), status="ringing")
        self.current()

    def current(self) -> Leg | None:
        """The leg the call is on, once Twilio took its next step; None once it is over."""
        while self.state == "live":
            leg = self.leg
            if leg is None:
                self._next_verb()
                continue
            if leg.then is None:
                return leg
            self.leg = None
            leg.close()
            self._after(leg.then)
        return None

    def hang_up(self, *, status_first: bool = False) -> None:
        """The caller hangs up during the leg under way (a `<Record>` or `<Dial>` still posts
        its action), then the status callback; with `status_first` the status callback comes
        before the leg hears of it (at Twilio the two race)."""
        leg = self.current()
        if leg is None:
            return
        if status_first:
            self._completed()
        then = leg.hang_up()
        self.leg = None
        leg.close()
        if then.request is not None:
            self._fetch(then.request)
        self._end("caller", status=not status_first)

    def close(self) -> None:
        if self.leg is not None:
            self.leg.close()
            self.leg = None
        self.webhooks.close()

    def _after(self, then: Then) -> None:
        if then.request is not None:
            if then.hang_up is None:
                self._follow(then.request)
            else:
                self._fetch(then.request)  # the caller is gone: Twilio ignores the answer
        if then.hang_up is not None:
            self._end(then.hang_up)

    def _next_verb(self) -> None:
        verb = self.verbs.popleft() if self.verbs else None
        if verb is None or verb.tag in ("Hangup", "Reject"):
            self._end("ivr")
        else:
            self.leg = self._start(verb)

    def _start(self, verb: ET.Element) -> Leg | None:
        """A leg for a verb that takes line time; None for a `<Redirect>`, followed at once."""
        common: dict[str, Any] = {"clock": self.clock, "transcript": self.transcript}
        match verb.tag:
            case "Connect":
                return self._stream(verb)
            case "Say" | "Play" | "Pause":
                return PlayLeg(**common, playing=self._playing([verb]))
            case "Gather":
                gather = gather_verb(verb, self.document)
                return GatherLeg(**common, gather=gather, playing=self._playing(list(verb)))
            case "Record":
                record = record_verb(verb, self.document)
                return RecordLeg(**common, record=record, account_sid=self.line.account_sid)
            case "Dial":
                return DialLeg(
                    **common,
                    dial=dial_verb(verb, self.document),
                    call_sid=self.line.call_sid,
                    whisper=self._fetch_whisper,
                    talk_seconds=self.line.talk_seconds,
                    unless_told=self.line.transfer,
                )
            case "Redirect":
                url = urljoin(self.document, (verb.text or "").strip())
                self._follow(Request(url, verb.get("method", "POST").upper()))
                return None
        raise CallerError(f"<{verb.tag}> is a verb this caller does not carry out")

    def _stream(self, connect: ET.Element) -> StreamLeg:
        stream = connect.find("Stream")
        if stream is None or len(connect) != 1:
            raise CallerError("a <Connect> this caller carries out holds one <Stream>")
        url = urljoin(self.document, stream.get("url", ""))
        action = connect.get("action")
        method = connect.get("method", "POST").upper()
        return StreamLeg(
            url,
            reach=self.webhooks.reach(url),
            parameters={p.get("name", ""): p.get("value", "") for p in stream.iter("Parameter")},
            action=Request(urljoin(self.document, action), method) if action else None,
            ids=CallIds(self.line.call_sid, self.line.account_sid),
            clock=self.clock,
            transcript=self.transcript,
            patience=self.line.patience,
            timeout=self.webhooks.timeout,
        )

    def _playing(self, verbs: list[ET.Element]) -> Playing:
        return Playing(prompts_of(verbs, self.document, self.webhooks.play_seconds))

    def _follow(self, request: Request, status: str = "in-progress") -> None:
        """Request a webhook and carry out its TwiML from its first verb."""
        document = self._fetch(request, status)
        try:
            root = ET.fromstring(document)
        except ET.ParseError as error:
            raise self._application_error(f"{request.url} answered no TwiML: {error}") from None
        if root.tag != "Response":
            raise self._application_error(f"{request.url} answered <{root.tag}>, not <Response>")
        self.verbs, self.document = deque(root), request.url

    def _fetch_whisper(self, request: Request) -> None:
        self._fetch(request)

    def _fetch(self, request: Request, status: str = "in-progress") -> str:
        """A webhook whose answer the call needs; its body."""
        try:
            response = self._request(request, status)
        except CallerError as error:
            raise self._application_error(str(error)) from None
        if response.status_code == 403:
            raise self._application_error(
                f"{request.url} refused the signature (403): is the auth token the server's"
                " CIVICLINE_TWILIO_AUTH_TOKEN, and the public URL its CIVICLINE_PUBLIC_URL?"
            )
        if not response.ok:
            raise self._application_error(
                f"{request.method} {request.url} answered {response.status_code}"
            )
        return response.text

    def _request(self, request: Request, status: str) -> requests.Response:
        """One signed request, with the call's parameters under the request's own."""
        params = {
            "CallSid": self.line.call_sid,
            "AccountSid": self.line.account_sid,
            "From": self.line.caller,
            "To": self.line.to,
            "CallStatus": status,
            "Direction": "inbound",
            "ApiVersion": API_VERSION,
            **request.params,
        }
        url, response = self.webhooks.send(request, params)
        at = self.clock.line
        self.transcript.add(
            Fetched(at, request.method, url, params, response.status_code, response.text)
        )
        return response

    def _application_error(self, message: str) -> CallerError:
        if self.state == "live":
            self._end("twilio")
        return CallerError(message)

    def _end(self, by: str, *, status: bool = True) -> None:
        if self.leg is not None:
            self.leg.close()
            self.leg = None
        self.state, self.ended_by = "over", by
        self.transcript.add(HungUp(self.clock.line, by))
        if status:
            self._completed()

    def _completed(self) -> None:
        """The final status callback: the call is over (completed)."""
        params = {
            "CallDuration": str(round(self.clock.line)),
            "SequenceNumber": str(self.status_sequence),
            "Timestamp": format_datetime(datetime.now(UTC)),
            "CallbackSource": "call-progress-events",
        }
        self.status_sequence += 1
        callback = Request(self.webhooks.public_url + STATUS_PATH, "POST", params)
        try:
            response = self._request(callback, "completed")
        except CallerError as error:
            log.warning("call %s: the status callback failed: %s", self.line.call_sid, error)
            return
        if not response.ok:
            log.warning(
                "call %s: the status callback answered %s", self.line.call_sid, response.status_code
            )
