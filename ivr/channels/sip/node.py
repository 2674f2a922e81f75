"""The process behind `ivr sip`: one pyVoIP phone registered at the registrar, serving calls.

One node serves calls in threads (three per call: RTP in, RTP out, the call's driver);
bench/sip_load.py measures how many one process carries, and more are served by more nodes
behind Kamailio's dispatcher (deploy/kamailio.cfg), not by more threads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from ivr.bootstrap import call_recognizer, call_services, open_database, shared_models
from ivr.calls.runner import CallServices
from ivr.channels.sip.leg import CivicCall
from ivr.channels.sip.line import SipCall
from ivr.channels.sip.phone import CivicPhone
from ivr.config import Settings
from ivr.recordings import Recordings, recording_store
from menus.schema import Flow
from speech.models import ModelError
from speech.prompts import PromptLibrary

log = logging.getLogger(__name__)

STOP_CHECK_SECONDS = 0.1
"""How often a node waiting for its registration looks whether it was asked to stop."""


class RegistrationFailed(RuntimeError):
    """The registrar refused the node's account (or never answered); the text says which."""


@dataclass
class SipNode:
    settings: Settings
    services: CallServices
    phone: CivicPhone | None = None
    calls_served: int = 0
    calls_done: int = 0
    ready: threading.Event = field(default_factory=threading.Event)
    """Set once the speech models are loaded: a call that comes sooner rings until then."""
    recordings: Recordings = field(init=False)

    def __post_init__(self) -> None:
        self.recordings = recording_store(self.settings, self.services.database)

    @classmethod
    def from_settings(cls, settings: Settings) -> SipNode:
        database = open_database(settings)
        return cls(settings, call_services(settings, database))

    def start(self, stop: threading.Event | None = None) -> None:
        """Register, then load the flow's speech models (so a registrar's failure is told
        at once); calls are served from then on. A `stop` set meanwhile ends the wait for the
        registrar at once."""
        s = self.settings
        self.phone = CivicPhone(
            s.sip_registrar_host,
            s.sip_registrar_port,
            s.sip_user,
            s.sip_password,
            myIP=s.sip_host,
            callCallback=self.serve,
            sipPort=s.sip_port,
            rtpPortLow=s.sip_rtp_port_min,
            rtpPortHigh=s.sip_rtp_port_max,
            accept_users=frozenset(s.sip_accept_users),
        )
        self.phone.start()
        registration = self.phone.sip.registration
        while not registration.settled.wait(STOP_CHECK_SECONDS):
            if stop is not None and stop.is_set():
                self.phone.stop()
                return
        where = f"{s.sip_registrar_host}:{s.sip_registrar_port}"
        if registration.error is not None:
            self.phone.stop()
            raise RegistrationFailed(
                f"{s.sip_user} could not register at {where}: {registration.error}"
            )
        log.info("SIP node %s@%s:%d registered at %s", s.sip_user, s.sip_host, s.sip_port, where)
        load_models(self.services.flows.current().flow)
        self.ready.set()

    @property
    def calls_active(self) -> int:
        return self.calls_served - self.calls_done

    def serve(self, call: CivicCall) -> None:
        self.calls_served += 1
        try:
            self.ready.wait()
            self._serve(call)
        finally:
            self.calls_done += 1

    def _serve(self, call: CivicCall) -> None:
        SipCall(
            self.services,
            PromptLibrary(self.settings.data_dir / "prompts"),
            call_recognizer,
            self.recordings,
            call,
            media_timeout=self.settings.sip_media_timeout,
            transfer_mode=self.settings.sip_transfer,
            ring_seconds=self.settings.sip_ring_seconds,
            registrar=f"{self.settings.sip_registrar_host}:{self.settings.sip_registrar_port}",
        ).run()

    def stop(self) -> None:
        if self.phone is not None:
            self.phone.stop()

    def run_until(self, stop: threading.Event) -> None:
        self.start(stop)
        try:
            stop.wait()
        finally:
            self.stop()


def load_models(flow: Flow) -> None:
    """Each language's Vosk model, loaded before the first call rather than during it."""
    for language, spec in flow.languages.items():
        if spec.model is None:
            continue
        try:
            shared_models().get(spec.model)
        except ModelError as error:
            log.warning("%s is served keypad-only: %s", language, error)
