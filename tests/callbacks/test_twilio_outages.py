"""A Twilio that hangs, fails or answers too late, with the worker's handlers built as
`ivr worker` builds them (`ivr.bootstrap`) and the real `twilio` client against the local
stand-in: every request gives up after its read timeout, recordings are downloaded from
CIVICLINE_TWILIO_API_URL, and a call whose request's answer was lost is known by the report
Twilio sends for it (naming our attempt), never taken for another callback's call."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from callback_line import TUESDAY_TEN
from callback_twilio import PUBLIC_URL, SignedTwilio, new_call_sid, path
from callback_worker import run_all
from hand_clock import Clock
from sqlalchemy import select
from twilio_rest_standin import ACCOUNT, OUR_NUMBER, TwilioStandIn, a_wav

from ivr.bootstrap import callback_job_handlers, twilio_client, twilio_recording_handlers
from ivr.config import Settings
from ivr.jobs import Worker
from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import CallbackAttempt, Job, Officer, Recording
from webhooks.callback_calls import TwilioOutboundCaller

OFFICER_PHONE = "+40264000130"
SLOT = TUESDAY_TEN


@pytest.fixture
def demo_settings(account_settings: Settings) -> Settings:
    return account_settings


def worker(settings: Settings, database: Database, clock: Clock) -> Worker:
    handlers = {
        **callback_job_handlers(settings, database, clock),
        **twilio_recording_handlers(settings, database, clock),
    }
    return Worker(database, handlers, worker_id="w1", clock=clock, backoff_seconds=1)


def book(database: Database, caller: str) -> int:
    """A callback in the Tuesday 10:00 slot for roads, whose one officer takes two."""
    with database.session() as session:
        if session.scalar(select(Officer)) is None:
            session.add(
                Officer(
                    name="Ana",
                    phone=OFFICER_PHONE,
                    department="roads",
                    callback_capacity=2,
                    active=True,
                )
            )
        callback = callbacks.book_callback(
            session,
            caller=caller,
            department="roads",
            slot_start=SLOT,
            language="en",
            call_id=None,
            ticket_id=None,
            at=SLOT - timedelta(days=1),
        )
        return callback.id


def attempts(database: Database) -> list[tuple[int, str, str | None]]:
    with database.session(read_only=True) as session:
        rows = session.scalars(select(CallbackAttempt).order_by(CallbackAttempt.id))
        return [(a.callback_id, a.status, a.provider_sid) for a in rows]


def job_errors(database: Database) -> list[str]:
    with database.session(read_only=True) as session:
        return [e for e in session.scalars(select(Job.last_error)) if e]


def test_the_client_gives_up_on_a_hanging_twilio(
    demo_settings: Settings, standin: TwilioStandIn
) -> None:
    client = twilio_client(demo_settings)
    caller = TwilioOutboundCaller(client, OUR_NUMBER, PUBLIC_URL)
    standin.hanging.set()
    with pytest.raises(requests.exceptions.ReadTimeout):
        caller.call(OFFICER_PHONE, callback_id=1, leg="officer", attempt=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.messages.create(to="+40722111222", from_=OUR_NUMBER, body="hello")
    standin.hanging.clear()
    assert standin.calls == [] and standin.messages == []


def test_a_hung_request_is_asked_again_once_twilio_never_reported_it(
    demo_settings: Settings, demo_db: Database, standin: TwilioStandIn, clock: Clock
) -> None:
    callback_id = book(demo_db, "+40722111222")
    clock.now = SLOT + timedelta(seconds=5)
    jobs = worker(demo_settings, demo_db, clock)
    standin.hanging.set()
    run_all(jobs)  # the request hangs, then times out: the job is retried
    standin.hanging.clear()
    assert attempts(demo_db) == [(callback_id, "dialing", None)]
    assert any("Read timed out" in error for error in job_errors(demo_db))
    clock.now += timedelta(seconds=30)
    run_all(jobs)  # too early to tell: Twilio may still report the call
    assert standin.calls == []
    clock.now += timedelta(minutes=2)
    run_all(jobs)  # no report came: Twilio never took it
    [call] = standin.calls
    assert attempts(demo_db) == [(callback_id, "initiated", call["sid"])]


def test_a_500_is_retried_and_the_officer_called_once(
    demo_settings: Settings, demo_db: Database, standin: TwilioStandIn, clock: Clock
) -> None:
    callback_id = book(demo_db, "+40722111222")
    clock.now = SLOT + timedelta(seconds=5)
    jobs = worker(demo_settings, demo_db, clock)
    standin.errors = 1
    run_all(jobs)
    assert standin.calls == [] and any("500" in e for e in job_errors(demo_db))
    for _ in range(4):
        clock.now += timedelta(minutes=1)
        run_all(jobs)
    [call] = standin.calls
    assert attempts(demo_db) == [(callback_id, "initiated", call["sid"])]


def test_a_lost_answer_is_settled_by_twilios_report_and_the_officer_rung_once_at_a_time(
    demo_settings: Settings,
    demo_db: Database,
    signed: SignedTwilio,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    first, second = book(demo_db, "+40722111222"), book(demo_db, "+40722111333")
    clock.now = SLOT + timedelta(seconds=5)
    jobs = worker(demo_settings, demo_db, clock)
    standin.hold_calls.set()  # Twilio takes the call but answers after the read timeout
    run_all(jobs)
    standin.release.set()
    [call] = standin.calls  # the second waits: the officer is on the first's call
    assert attempts(demo_db) == [(first, "dialing", None)]
    for status in ("initiated", "completed"):  # Twilio's reports name our attempt
        report = {"CallSid": call["sid"], "CallStatus": status}
        assert signed.post(path(call["status_callback"]), report).status_code == 204
    clock.now += timedelta(minutes=3)
    run_all(jobs)  # the first is settled by its report; the officer is free for the second
    assert len(standin.calls) == 2
    other = standin.calls[1]
    assert f"/{second}/officer?attempt=1" in other["url"] and other["to"] == OFFICER_PHONE
    assert attempts(demo_db) == [
        (first, "completed", call["sid"]),
        (second, "initiated", other["sid"]),
    ]


def test_recordings_are_downloaded_from_the_configured_api(
    demo_settings: Settings,
    demo_db: Database,
    signed: SignedTwilio,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    callback_id = book(demo_db, "+40722111222")
    recording_sid = "RE" + "b" * 32
    standin.files[recording_sid] = a_wav()
    form = {"CallSid": new_call_sid(), "RecordingSid": recording_sid}
    assert signed.post(f"/twilio/callbacks/{callback_id}/recording", form).status_code == 204
    clock.now = datetime.now(clock.now.tzinfo)
    run_all(worker(demo_settings, demo_db, clock))
    assert ("GET", f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording_sid}.wav") in (
        standin.requests
    )
    assert recording_sid not in standin.files  # deleted at Twilio once kept
    with demo_db.session(read_only=True) as session:
        assert session.get(Recording, recording_sid) is not None
