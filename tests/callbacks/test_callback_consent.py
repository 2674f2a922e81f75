"""Recording consent holds on callbacks: a caller who pressed 8 on the line is called back
without any recording and is told so; a citizen whose consent is unknown (booked by SMS or
an escalation) hears the notice at the start and can decline with 8; with no 8 the
officer's leg starts recording at Twilio. The real `twilio` client against the stand-in,
Twilio's webhooks signed with the account's token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from callback_line import TUESDAY_TEN, CallbackLine, demo_services
from callback_twilio import SignedTwilio, path
from callback_worker import add_officer, run_all
from hand_clock import Clock
from sqlalchemy import select
from twilio_rest_standin import ACCOUNT, TwilioStandIn

from ivr.bootstrap import callback_job_handlers
from ivr.config import Settings
from ivr.jobs import Worker
from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import Callback

CITIZEN = "+40722111222"
EARLY = TUESDAY_TEN - timedelta(hours=3)


@pytest.fixture
def demo_settings(account_settings: Settings) -> Settings:
    return account_settings


def callback_row(database: Database) -> Callback:
    with database.session(read_only=True) as session:
        row = session.scalars(select(Callback)).one()
        session.expunge(row)
        return row


def citizen_answers(
    settings: Settings,
    database: Database,
    signed: SignedTwilio,
    standin: TwilioStandIn,
    clock: Clock,
) -> tuple[str, str]:
    """The worker calls the officer at the slot, the officer answers, the worker calls the
    citizen, who answers: the TwiML the citizen's call gets, and the officer's call id. The
    site and the worker share the clock."""
    clock.now = callback_row(database).slot_start + timedelta(seconds=5)
    handlers = callback_job_handlers(settings, database, clock)
    worker = Worker(database, handlers, worker_id="w1", clock=clock)
    run_all(worker)
    [officer] = standin.calls
    assert officer["record"] is None  # never recorded before the citizen's answer
    heard = signed.post(path(officer["url"]), {"CallSid": officer["sid"]}).get_data(as_text=True)
    assert "callback-" in heard and "report -" not in heard
    run_all(worker)
    citizen = standin.calls[1]
    assert citizen["to"] == CITIZEN and citizen["record"] is None
    answer = signed.post(path(citizen["url"]), {"CallSid": citizen["sid"]})
    return answer.get_data(as_text=True), officer["sid"]


def book_by_sms(database: Database) -> int:
    with database.session() as session:
        callback = callbacks.book_callback(
            session,
            caller=CITIZEN,
            department="roads",
            slot_start=TUESDAY_TEN,
            language="en",
            call_id=None,
            ticket_id=None,
            at=EARLY,
        )
        return callback.id


def test_a_caller_who_declined_on_the_line_is_called_back_unrecorded(
    demo_settings: Settings,
    demo_db: Database,
    signed: SignedTwilio,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    add_officer(demo_db)
    line = CallbackLine(demo_services(demo_db), CITIZEN, at=EARLY, decline_recording=True)
    assert line.runner.session.recording_consent == "declined"
    line.keys("3")  # a callback
    line.keys("3")  # roads
    line.keys("1")  # confirmed
    assert callback_row(demo_db).recording_consent == "declined"
    twiml, _officer = citizen_answers(demo_settings, demo_db, signed, standin, clock)
    assert "This call is not recorded." in twiml and "This call is recorded" not in twiml
    assert "/consent" not in twiml and "callback-" in twiml  # straight into the conference
    assert standin.started == []  # no recording asked for, on either leg


def test_a_citizen_can_decline_at_the_start_of_the_callback(
    demo_settings: Settings,
    demo_db: Database,
    signed: SignedTwilio,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    add_officer(demo_db)
    callback_id = book_by_sms(demo_db)
    assert callback_row(demo_db).recording_consent is None
    twiml, _officer = citizen_answers(demo_settings, demo_db, signed, standin, clock)
    assert "This call is recorded. If you do not want it recorded, press 8." in twiml
    form = {"CallSid": standin.calls[1]["sid"], "Digits": "8"}
    declined = signed.post(f"/twilio/callbacks/{callback_id}/consent", form)
    assert "This call is not recorded." in declined.get_data(as_text=True)
    assert f"callback-{callback_id}" in declined.get_data(as_text=True)
    assert callback_row(demo_db).recording_consent == "declined"
    assert standin.started == []


def test_with_no_8_the_officers_leg_starts_recording(
    demo_settings: Settings,
    demo_db: Database,
    signed: SignedTwilio,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    add_officer(demo_db)
    callback_id = book_by_sms(demo_db)
    _twiml, officer_sid = citizen_answers(demo_settings, demo_db, signed, standin, clock)
    form = {"CallSid": standin.calls[1]["sid"]}  # the Gather timed out: Twilio redirects
    joined = signed.post(f"/twilio/callbacks/{callback_id}/consent", form)
    assert f"callback-{callback_id}" in joined.get_data(as_text=True)
    assert callback_row(demo_db).recording_consent == "accepted"
    [started] = standin.started
    assert started["RecordingStatusCallback"].endswith(f"/twilio/callbacks/{callback_id}/recording")
    assert ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{officer_sid}/Recordings.json") in (
        standin.requests
    )


def test_after_the_citizen_misses_twice_the_officers_leg_is_ended(
    demo_settings: Settings,
    demo_db: Database,
    signed: SignedTwilio,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    add_officer(demo_db)
    callback_id = book_by_sms(demo_db)
    clock.now = TUESDAY_TEN + timedelta(seconds=5)
    worker = Worker(
        demo_db, callback_job_handlers(demo_settings, demo_db, clock), worker_id="w1", clock=clock
    )
    run_all(worker)
    [officer] = standin.calls
    signed.post(path(officer["url"]), {"CallSid": officer["sid"]})
    for attempt in (1, 2):
        run_all(worker)
        citizen = standin.calls[attempt]
        assert standin.updates == []  # the officer waits while the citizen may answer
        report = {"CallSid": citizen["sid"], "CallStatus": "no-answer"}
        assert signed.post(path(citizen["status_callback"]), report).status_code == 204
        clock.now += timedelta(minutes=3)
    assert callback_row(demo_db).status == "missed"
    [ended] = standin.updates
    assert ended["sid"] == officer["sid"]
    assert "Nu am putut contacta" in ended["Twiml"] and "<Hangup" in ended["Twiml"]  # officers: ro
    assert len(standin.calls) == 3 and callback_id == callback_row(demo_db).id
