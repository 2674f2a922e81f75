"""The whole story of a callback with the real `twilio` client against a local stand-in for
Twilio's API: booked by phone about a ticket, reminded an hour before, the officer called
at the slot, the citizen called (one retry after a no-answer), the resolution noted and
texted, the citizen not satisfied → one level up with a new callback, the survey kept."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from callback_line import TUESDAY_TEN, CallbackLine, demo_services
from callback_site import supervisor_client
from callback_twilio import SignedTwilio, path
from callback_worker import OFFICER_PHONE, add_officer, run_all, worker
from flask import Flask
from hand_clock import Clock
from sqlalchemy import select
from storage.filing import file_ticket
from twilio_rest_standin import TwilioStandIn

from ivr.storage.db import Database
from ivr.storage.models import (
    Callback,
    CallbackAttempt,
    SmsOutbox,
    SurveyResponse,
    Ticket,
    TicketEscalation,
    TicketNote,
    TwilioRecording,
)

CITIZEN = "+40722111222"
BUCHAREST = ZoneInfo("Europe/Bucharest")
EARLY = TUESDAY_TEN - timedelta(hours=3, minutes=30)
"""06:30 on Tuesday: the first free slot (08:00) is more than an hour ahead."""


def one(database: Database, model: type, *where: object) -> object:
    with database.session(read_only=True) as session:
        row = session.scalars(select(model).where(*where)).one()  # type: ignore[arg-type]
        session.expunge(row)
        return row


def book_about_a_ticket(database: Database) -> tuple[str, int]:
    add_officer(database)
    ticket, _pin = file_ticket(
        database, TUESDAY_TEN - timedelta(days=1), caller=CITIZEN, language="en"
    )
    ref = ticket.ref
    line = CallbackLine(demo_services(database), CITIZEN, at=EARLY)
    line.keys("2")  # the status of a report
    line.keys(ref.replace("-", "") + "#")  # the caller's own: read out at once
    line.keys("2")  # nothing to add to it
    line.keys("1")  # anything else: the main menu
    line.keys("3")  # a callback
    line.keys("3")  # roads
    line.keys("1")  # confirmed
    callback = one(database, Callback)
    assert isinstance(callback, Callback)
    return ref, callback.id


def attempts(database: Database) -> list[tuple[str, int, str]]:
    with database.session(read_only=True) as session:
        return [
            (a.leg, a.number, a.status)
            for a in session.scalars(select(CallbackAttempt).order_by(CallbackAttempt.id))
        ]


def sent(standin: TwilioStandIn) -> list[str]:
    return [m["body"] for m in standin.messages]


def test_the_whole_story(
    demo_app: Flask,
    demo_db: Database,
    signed: SignedTwilio,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    ref, callback_id = book_about_a_ticket(demo_db)
    slot = one(demo_db, Callback).slot_start  # type: ignore[attr-defined]
    clock.now = EARLY + timedelta(minutes=1)
    jobs = worker(demo_db, standin, clock)
    run_all(jobs)  # the booking's SMS
    assert len(standin.messages) == 1 and "0 to cancel" in sent(standin)[0]

    clock.now = slot - timedelta(minutes=59)
    run_all(jobs)  # the reminder
    assert "will call you" in sent(standin)[1] and "Reply 0 to cancel" in sent(standin)[1]
    run_all(jobs)
    assert len(standin.messages) == 2 and standin.calls == []

    clock.now = slot + timedelta(seconds=5)
    run_all(jobs)  # the officer's leg
    [officer] = standin.calls
    assert officer["to"] == OFFICER_PHONE
    assert officer["url"].endswith(f"/{callback_id}/officer?attempt=1")
    assert officer["record"] is None  # recorded only once the citizen consents
    answered = signed.post(path(officer["url"]), {"CallSid": officer["sid"]})
    assert answered.status_code == 200
    twiml = answered.data.decode()
    assert f"callback-{callback_id}" in twiml and ref in twiml and "<Gather" in twiml

    run_all(jobs)  # the citizen's leg
    citizen = standin.calls[1]
    assert citizen["to"] == CITIZEN
    status = {"CallSid": citizen["sid"], "CallStatus": "no-answer"}
    for _ in range(2):  # Twilio repeats itself: one retry only
        assert signed.post(path(citizen["status_callback"]), status).status_code == 204
    clock.now += timedelta(minutes=3)  # the retry waits two minutes
    run_all(jobs)
    retry = standin.calls[2]
    assert retry["to"] == CITIZEN and len(standin.calls) == 3
    joined = signed.post(path(retry["url"]), {"CallSid": retry["sid"]})
    assert "This call is recorded" in joined.data.decode() and "/consent" in joined.data.decode()
    consent = signed.post(f"/twilio/callbacks/{callback_id}/consent", {"CallSid": retry["sid"]})
    assert f"callback-{callback_id}" in consent.data.decode()
    assert attempts(demo_db) == [
        ("officer", 1, "in-progress"),
        ("citizen", 1, "no-answer"),
        ("citizen", 2, "in-progress"),
    ]

    form = {
        "CallSid": officer["sid"],
        "RecordingSid": "RE" + "a" * 32,
        "RecordingStatus": "completed",
    }
    assert signed.post(f"/twilio/callbacks/{callback_id}/recording", form).status_code == 204
    recording = one(demo_db, TwilioRecording)
    assert recording.call_sid == officer["sid"] and recording.kind == "callback"  # type: ignore[attr-defined]

    signed.post(
        f"/twilio/callbacks/{callback_id}/resolution", {"CallSid": officer["sid"], "Digits": "2"}
    )
    survey = signed.post(
        f"/twilio/callbacks/{callback_id}/satisfied", {"CallSid": retry["sid"], "Digits": "2"}
    )
    assert "<Gather" in survey.data.decode()
    signed.post(f"/twilio/callbacks/{callback_id}/survey", {"CallSid": retry["sid"], "Digits": "4"})
    signed.post(f"/twilio/callbacks/{callback_id}/survey", {"CallSid": retry["sid"], "Digits": "1"})

    done = one(demo_db, Callback, Callback.id == callback_id)
    assert done.status == "answered" and done.outcome == "in_progress"  # type: ignore[attr-defined]
    ticket = one(demo_db, Ticket)
    assert ticket.escalation_level == 1  # type: ignore[attr-defined]
    step = one(demo_db, TicketEscalation)
    assert (step.role, step.reason) == ("head_of_service", "not_satisfied")  # type: ignore[attr-defined]
    higher = one(demo_db, Callback, Callback.role == "head_of_service")
    assert higher.ticket_id == ticket.id and higher.status == "booked"  # type: ignore[attr-defined]
    note = one(demo_db, TicketNote)
    assert "in_progress" in note.body  # type: ignore[attr-defined]
    score = one(demo_db, SurveyResponse)
    assert (score.score, score.kind, score.callback_id) == (4, "callback", callback_id)  # type: ignore[attr-defined]

    run_all(jobs)
    bodies = sent(standin)
    assert any(ref in b and "in progress" in b for b in bodies)  # the resolution
    assert any(ref in b and "the head of service" in b for b in bodies)  # the escalation
    with demo_db.session(read_only=True) as session:
        statuses = session.scalars(select(SmsOutbox.status)).all()
    assert set(statuses) == {"sent"} and len(statuses) == len(standin.messages) == 4
    page = supervisor_client(demo_app, demo_db).get(f"/tickets/{ref}").get_data(as_text=True)
    assert "Recorded callback call" in page and officer["sid"] in page
    assert "the head of service" in page and "not_satisfied" in page  # the rung by its name


def test_a_citizen_who_never_answers_is_texted_once(
    demo_db: Database, signed: SignedTwilio, standin: TwilioStandIn, clock: Clock
) -> None:
    _ref, callback_id = book_about_a_ticket(demo_db)
    slot = one(demo_db, Callback).slot_start  # type: ignore[attr-defined]
    clock.now = slot
    jobs = worker(demo_db, standin, clock)
    run_all(jobs)
    signed.post(path(standin.calls[0]["url"]), {"CallSid": standin.calls[0]["sid"]})
    for number in (1, 2):
        run_all(jobs)
        call = standin.calls[number]
        busy = {"CallSid": call["sid"], "CallStatus": "busy"}
        signed.post(path(call["status_callback"]), busy)
        clock.now += timedelta(minutes=3)
    run_all(jobs)
    assert len(standin.calls) == 3
    missed = one(demo_db, Callback, Callback.id == callback_id)
    assert missed.status == "missed"  # type: ignore[attr-defined]
    assert sum("could not reach you" in b for b in sent(standin)) == 1


def test_no_call_is_placed_while_the_office_is_closed(
    demo_db: Database, standin: TwilioStandIn, clock: Clock
) -> None:
    book_about_a_ticket(demo_db)
    slot = one(demo_db, Callback).slot_start  # type: ignore[attr-defined]
    evening = slot.astimezone(BUCHAREST).replace(hour=19, minute=0)
    clock.now = evening
    jobs = worker(demo_db, standin, clock)
    run_all(jobs)
    assert standin.calls == []
    [told] = [m for m in standin.messages if "could not call you at the booked time" in m["body"]]
    assert told["to"] == CITIZEN and "Roads" in told["body"]
    moved = one(demo_db, Callback).slot_start  # type: ignore[attr-defined]
    assert moved.astimezone(BUCHAREST) == evening.replace(hour=8) + timedelta(days=1)
    assert moved.astimezone(BUCHAREST).strftime("%d.%m %H:%M") in told["body"]
    clock.now = moved
    run_all(jobs)
    assert [c["to"] for c in standin.calls] == [OFFICER_PHONE]
