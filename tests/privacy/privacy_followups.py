"""What follows a caller's report, made through the real code paths: a survey score keyed at
the end of a call, an SMS received by the inbound handler, the booked callback placed by
the worker's jobs (the officer's leg, then the citizen's) and scored by the citizen."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from privacy_people import Line
from sqlalchemy import select

from ivr.callbacks import calls as callback_calls
from ivr.callbacks.jobs import CONNECT, CallbackJobs
from ivr.calls.runner import CallServices
from ivr.jobs import Worker, sms_handlers
from ivr.recordings import Recordings
from ivr.sms.inbound import receive_sms
from ivr.storage.callbacks import PLACE
from ivr.storage.models import Callback, Officer
from ivr.storage.outbox import SmsRejected

OFFICER_PHONE = "+40264000131"
SMS_WORDS = "Vasilescu's fence"
"""Words the person texts: looked for after an erasure or a purge."""


class DialledCalls:
    """The carrier (OutboundCaller): every call placed, each with a new call id."""

    def __init__(self) -> None:
        self.dialled: list[str] = []

    def call(self, to: str, *, callback_id: int, leg: str, attempt: int) -> str:
        self.dialled.append(to)
        return f"CA{uuid.uuid4().hex}"


class RefusingCarrier:
    """The SMS sender (SmsSender) when the carrier refuses a number, quoting it as Twilio
    does (error 21211)."""

    def send(self, to: str, body: str) -> str:
        raise SmsRejected(f"Twilio 21211: The 'To' number {to} is not a valid phone number.")


def refuse_sms_due(services: CallServices, number: str, at: datetime) -> None:
    """`number` texts START (it opted out in `make_person`), then the worker runs at `at`
    the SMS due then, each refused by the carrier."""
    database = services.database
    flow = services.flows.current().flow
    receive_sms(database, flow, message_sid=f"SM{uuid.uuid4().hex}", sender=number,
                body="START", at=at - timedelta(minutes=5))  # fmt: skip
    handlers = sms_handlers(database, RefusingCarrier(), clock=lambda: at)
    worker = Worker(database, handlers, worker_id="privacy", clock=lambda: at)
    while worker.run_once():
        pass


def make_followups(
    services: CallServices,
    store: Recordings,
    number: str,
    ref: str,
    at: datetime,
    words: str = SMS_WORDS,
) -> None:
    """After `make_person(...)` for `number` at `at`: the follow-ups of its report `ref`."""
    database = services.database
    Line(services, store, number, at + timedelta(hours=3)).keys(
        "2", ref.replace("-", ""), "2", "2", "5"
    )  # status, nothing to add, end, a survey score
    flow = services.flows.current().flow
    receive_sms(
        database,
        flow,
        message_sid=f"SM{uuid.uuid4().hex}",
        sender=number,
        body=f"STATUS {ref} and {words} is down too",
        at=at + timedelta(hours=4),
    )
    with database.session() as session:
        callback = session.scalars(select(Callback).where(Callback.caller == number)).one()
        callback_id, slot, department = callback.id, callback.slot_start, callback.department
        if session.scalar(select(Officer.id).where(Officer.phone == OFFICER_PHONE)) is None:
            session.add(Officer(name="Ion", phone=OFFICER_PHONE, department=department,
                                callback_capacity=10, active=True))  # fmt: skip
    carrier = DialledCalls()
    handlers = CallbackJobs(database, services.flows, carrier, lambda: slot).handlers()
    handlers[PLACE]({"callback_id": callback_id, "slot": slot.isoformat()})
    handlers[CONNECT]({"callback_id": callback_id, "attempt": 1})
    assert carrier.dialled == [OFFICER_PHONE, number]
    with database.session() as session:
        assert callback_calls.score(session, callback_id, "4", "en", slot + timedelta(minutes=9))
