"""The node's registration at the registrar, in place of pyVoIP 1.6.8's.

pyVoIP waits 30 s per try on a registrar that does not answer, tries three times, reads the
SIP socket under a lock the calls need too, and reports every failure as a wrong password.
Here the REGISTER is retransmitted on RFC 3261's timer E (0.5 s doubling) and given up after
`ANSWER_SECONDS`; its answers come from the SIP socket's one reader (`answers`), and a
failure says what went wrong: no answer, the password refused, a 407, another status.
pyVoIP still writes the requests (`gen_first_response`, `gen_register`: MD5 digest, no qop).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING

from pyVoIP import SIP
from pyVoIP.VoIP.status import PhoneStatus

if TYPE_CHECKING:
    from ivr.channels.sip.phone import CivicSipClient

log = logging.getLogger(__name__)

ANSWER_SECONDS = 5.0
"""How long a REGISTER waits for its final answer before the registrar counts as silent."""
FIRST_RETRANSMIT, LAST_RETRANSMIT = 0.5, 4.0
"""RFC 3261 timer E: T1, doubling up to T2."""
UNREGISTER_SECONDS = 2.0
"""How long a stopping node waits for its unregistration: a dead registrar does not hold it."""
RETRY_SECONDS = 5.0
"""A failed refresh is tried again after this long (the node keeps serving its calls)."""


class RegistrationError(Exception):
    """The registrar refused the REGISTER or never answered it; the text says which."""


class Registration:
    """Registers `client`'s account, then refreshes it before it expires, in a thread."""

    def __init__(self, client: CivicSipClient) -> None:
        self.client = client
        self.answers: queue.Queue[SIP.SIPMessage | None] = queue.Queue()
        """Responses to REGISTER from the socket's reader; None wakes a stopping wait."""
        self.settled = threading.Event()
        """Set once the first registration succeeded or failed."""
        self.error: RegistrationError | None = None
        self.registered = False
        """The registrar holds our binding (pyVoIP's phone status changes as it stops)."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sip-register", daemon=True)

    @property
    def where(self) -> str:
        return f"{self.client.server}:{self.client.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing and unregister (briefly: a registrar that is gone is not waited on)."""
        self._stopping.set()
        self.answers.put(None)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=ANSWER_SECONDS + 1)
        if self.registered:
            try:
                self.register(expires=0, wait=UNREGISTER_SECONDS)
                self.registered = False
            except RegistrationError as error:
                log.warning("unregistering at %s failed: %s", self.where, error)

    def _run(self) -> None:
        first = True
        while not self._stopping.is_set():
            try:
                expires = self.register(expires=self.client.default_expires)
            except RegistrationError as error:
                if self._stopping.is_set():
                    break
                if first:
                    self.error = error
                    self.client.phone._status = PhoneStatus.FAILED
                    self.settled.set()
                    return
                log.error("re-registration at %s failed, retrying: %s", self.where, error)
                self._stopping.wait(RETRY_SECONDS)
                continue
            self.registered = True
            self.client.phone._status = PhoneStatus.REGISTERED
            if first:
                first = False
                self.settled.set()
            self._stopping.wait(max(1.0, expires * 0.8))
        self.settled.set()

    def register(self, *, expires: int, wait: float = ANSWER_SECONDS) -> int:
        """One registration (`expires` 0 removes it), answering a 401 challenge; the seconds
        the registrar granted. RegistrationError says why it failed."""
        deregister = expires == 0
        request = self.client.gen_first_response(deregister=deregister)
        answer = self._exchange(request, wait, abortable=not deregister)
        if int(answer.status) == 401:
            if not self.client.password:
                raise RegistrationError(
                    "the registrar asks for a password and CIVICLINE_SIP_PASSWORD is not set"
                )
            request = self.client.gen_register(answer, deregister=deregister)
            answer = self._exchange(request, wait, abortable=not deregister)
            if int(answer.status) in (401, 403):
                raise RegistrationError(
                    f"the registrar refused the password of {self.client.username!r} "
                    f"({status_line(answer)}): check CIVICLINE_SIP_USER and "
                    "CIVICLINE_SIP_PASSWORD"
                )
        status = int(answer.status)
        if status == 407:
            raise RegistrationError(
                "the registrar asks for proxy authentication (407), which pyVoIP cannot "
                "answer: challenge REGISTERs with www_challenge (401), as deploy/kamailio.cfg does"
            )
        if status == 403:
            raise RegistrationError(
                f"the registrar forbids {self.client.username!r} ({status_line(answer)})"
            )
        if not 200 <= status < 300:
            raise RegistrationError(f"the registrar answered {status_line(answer)}")
        return granted_seconds(answer, expires)

    def _exchange(self, request: str, wait: float, *, abortable: bool) -> SIP.SIPMessage:
        """Send `request` until its final answer comes, retransmitting on timer E; a stop
        ends the wait unless this is the stop's own unregistration (not `abortable`)."""
        call_id = header(request, "Call-ID")
        cseq = header(request, "CSeq").split()[0]
        deadline = time.monotonic() + wait
        interval, resend_at = FIRST_RETRANSMIT, 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise RegistrationError(
                    f"the registrar did not answer within {wait:.0f} s (is it running there? "
                    "CIVICLINE_SIP_REGISTRAR_HOST and _PORT)"
                )
            if abortable and self._stopping.is_set():
                raise RegistrationError("stopped before the registrar answered")
            if now >= resend_at:
                try:
                    self.client.send_to_registrar(request)
                except OSError as error:
                    raise RegistrationError(f"the registrar cannot be reached: {error}") from error
                resend_at, interval = now + interval, min(interval * 2, LAST_RETRANSMIT)
            try:
                answer = self.answers.get(timeout=max(0.0, min(resend_at, deadline) - now))
            except queue.Empty:
                continue
            if answer is None or answers_to(answer) != (call_id, cseq):
                continue  # a stop's wake-up, or a late answer to an earlier REGISTER
            if int(answer.status) >= 200:
                return answer
            resend_at = deadline  # 1xx: it is working on it; no more retransmissions


def header(request: str, name: str) -> str:
    """A header's value in a request we wrote."""
    return request.split(f"\r\n{name}: ", 1)[1].split("\r\n", 1)[0]


def answers_to(answer: SIP.SIPMessage) -> tuple[str, str] | None:
    """The Call-ID and CSeq number of the request a response answers."""
    cseq = answer.headers.get("CSeq")
    return (answer.headers.get("Call-ID", ""), cseq["check"]) if isinstance(cseq, dict) else None


def status_line(answer: SIP.SIPMessage) -> str:
    return answer.heading.decode("utf8", "replace").removeprefix("SIP/2.0 ")


def granted_seconds(answer: SIP.SIPMessage, asked: int) -> int:
    """The registration's lifetime: the answer's Expires header, else what was asked."""
    value = str(answer.headers.get("Expires", "")).strip()
    return int(value) if value.isdigit() else asked
