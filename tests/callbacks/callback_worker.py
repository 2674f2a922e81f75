"""The worker of the callback tests: the callback and SMS jobs with the real `twilio`
client against the stand-in, on a clock the test moves; and the officer who takes the calls."""

from __future__ import annotations

from callback_flows import DEMO_FLOW_PATH
from callback_twilio import PUBLIC_URL
from hand_clock import Clock
from twilio_rest_standin import OUR_NUMBER, TwilioStandIn

from ivr.callbacks.jobs import CallbackJobs
from ivr.jobs import Worker
from ivr.storage.db import Database
from ivr.storage.models import Officer
from menus.registry import FlowRegistry
from webhooks.callback_calls import TwilioOutboundCaller
from webhooks.sms_sender import TwilioSmsSender, sms_handlers

OFFICER_PHONE = "+40264000130"


def worker(database: Database, standin: TwilioStandIn, clock: Clock) -> Worker:
    client = standin.client()
    caller = TwilioOutboundCaller(client, OUR_NUMBER, PUBLIC_URL)
    jobs = CallbackJobs(database, FlowRegistry(DEMO_FLOW_PATH), caller, clock)
    handlers = {**jobs.handlers(), **sms_handlers(database, TwilioSmsSender(client, OUR_NUMBER))}
    return Worker(database, handlers, worker_id="w1", clock=clock, backoff_seconds=1)


def run_all(worker: Worker) -> None:
    """Run every job that is due, until none is."""
    while worker.run_once():
        pass


def add_officer(database: Database, capacity: int = 1) -> None:
    """Ana of roads, who takes `capacity` callbacks a slot at OFFICER_PHONE."""
    with database.session() as session:
        session.add(
            Officer(
                name="Ana",
                phone=OFFICER_PHONE,
                department="roads",
                callback_capacity=capacity,
                active=True,
            )
        )
