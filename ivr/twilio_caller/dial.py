"""`<Dial>` for the faithful Twilio caller (`twilio_caller`): a transfer to an officer, ended
as the script chooses (answered unless told otherwise), on the line clock.

As Twilio documents it: a no-answer rings the Dial's `timeout`; busy and failed end at once;
the outcome is posted to the Dial's action as DialCallStatus (an answered call that ends is
`completed`) with DialCallSid and DialCallDuration; without an action the document goes on
after the Dial. When the officer answers, Twilio fetches the `<Number url>` (what the officer
hears first). An answered transfer ends with the caller hanging up after talking.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from ivr.twilio_caller.line import FRAME_SECONDS, Dialled, Frame, Request, Then
from ivr.twilio_caller.verbs import EPSILON, VerbLeg

DIAL_STATUSES = {
    "answered": "completed",
    "no-answer": "no-answer",
    "busy": "busy",
    "failed": "failed",
}
"""A transfer's outcome → the DialCallStatus Twilio posts."""


@dataclass(frozen=True)
class DialVerb:
    target: str
    whisper: str | None
    action: str | None
    method: str
    timeout: float
    caller_id: str | None


def dial_verb(element: ET.Element, document: str) -> DialVerb:
    noun = next((n for n in element if n.tag in ("Number", "Sip", "Client")), None)
    target = (noun.text if noun is not None else element.text) or ""
    whisper = noun.get("url") if noun is not None else None
    action = element.get("action")
    return DialVerb(
        target=target.strip(),
        whisper=urljoin(document, whisper) if whisper else None,
        action=urljoin(document, action) if action else None,
        method=element.get("method", "POST").upper(),
        timeout=float(element.get("timeout", "30")),
        caller_id=element.get("callerId"),
    )


@dataclass(kw_only=True)
class DialLeg(VerbLeg):
    """A transfer: it rings, then ends as the script chose (`choose`; `unless_told` when the
    script goes on without choosing)."""

    dial: DialVerb
    call_sid: str
    whisper: Callable[[Request], None]
    """Fetches what the officer hears first, when the officer answers."""
    talk_seconds: float
    unless_told: str = "answered"
    outcome: str | None = None
    ring: float = 0.0
    talk: float = 0.0
    spent: float = 0.0
    child_sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)

    def choose(self, outcome: str, talk_seconds: float | None = None) -> None:
        """How the transfer ends: answered (then `talk_seconds` with the officer), no-answer
        (after the Dial's `timeout` of ringing), busy or failed (at once)."""
        if outcome not in DIAL_STATUSES:
            raise ValueError(f"a transfer ends {', '.join(DIAL_STATUSES)}, not {outcome!r}")
        self.outcome = outcome
        self.ring = self.dial.timeout if outcome == "no-answer" else 0.0
        if outcome == "answered":
            self.talk = self.talk_seconds if talk_seconds is None else talk_seconds
            if self.dial.whisper:
                self.whisper(self._whisper_request())
        if self.ring + self.talk <= 0:
            self._finish()

    def frame(self, frame: Frame) -> bool:
        if self.then is not None:
            return False
        if self.outcome is None:
            self.choose(self.unless_told)
            if self.then is not None:
                return False
        self.spent += FRAME_SECONDS
        if self.spent >= self.ring + self.talk - EPSILON:
            self._finish()
        return True

    def key(self, digit: str) -> bool:
        return self.then is None  # heard by the officer, or by no one while it rings

    def busy(self) -> bool:
        return self.then is None and self.outcome is not None

    def hang_up(self) -> Then:
        """The caller hangs up while talking to the officer: the call was answered."""
        if self.then is None and self.outcome is None:
            self.choose("answered", talk_seconds=0.0)
        if self.then is None:
            self._finish()
        assert self.then is not None
        return Then(self.then.request, hang_up="caller")

    def _finish(self) -> None:
        assert self.outcome is not None
        talked = max(0.0, self.spent - self.ring)
        self.transcript.add(Dialled(self.clock.line, self.dial.target, self.outcome, self.spent))
        params = {
            "DialCallStatus": DIAL_STATUSES[self.outcome],
            "DialCallSid": self.child_sid,
            "DialCallDuration": str(round(talked)),
        }
        request = Request(self.dial.action, self.dial.method, params) if self.dial.action else None
        self.then = Then(request, hang_up="caller" if self.outcome == "answered" else None)

    def _whisper_request(self) -> Request:
        params = {
            "CallSid": self.child_sid,
            "ParentCallSid": self.call_sid,
            "Direction": "outbound-dial",
            "To": self.dial.target,
        }
        if self.dial.caller_id:
            params["From"] = self.dial.caller_id
        assert self.dial.whisper is not None
        return Request(self.dial.whisper, "POST", params)
