"""Replies 1, 2 and 0 about an appointment through the signed SMS webhook: they apply to the
number's newest pending offer (an appointment booked after a callback), a cancelled place is
free again at once, and the reminder goes out the day before, once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from callback_flows import DEMO_FLOW_PATH, demo_flow
from callback_twilio import SignedTwilio
from hand_clock import Clock
from sqlalchemy import select

from ivr.appointments.reminders import AppointmentJobs
from ivr.bootstrap import job_handlers
from ivr.config import Settings
from ivr.engine.render import fill
from ivr.storage import appointments, callbacks
from ivr.storage.db import Database
from ivr.storage.models import Appointment, Job, SmsOutbox
from ivr.storage.outbox import gsm_fitted, segments
from menus.registry import FlowRegistry

CITIZEN = "+40722111222"


def book_visit(database: Database, caller: str, clock: Clock) -> Appointment:
    with database.session() as session:
        booking = appointments.book_first_free(
            session,
            demo_flow(),
            caller=caller,
            service="civil_status",
            language="en",
            call_id=None,
            at=clock.now,
        )
        assert booking is not None
        session.expunge(booking.appointment)
        return booking.appointment


def visit(database: Database, appointment_id: int) -> Appointment:
    with database.session(read_only=True) as session:
        row = session.get_one(Appointment, appointment_id)
        session.expunge(row)
        return row


def last_reply(database: Database) -> SmsOutbox:
    with database.session(read_only=True) as session:
        row = session.scalars(select(SmsOutbox).order_by(SmsOutbox.id.desc()).limit(1)).one()
        session.expunge(row)
        return row


def test_replies_move_confirm_and_cancel_the_newest_offer(
    signed: SignedTwilio, demo_db: Database, clock: Clock
) -> None:
    with demo_db.session() as session:
        callback = callbacks.book_first_free(
            session, demo_flow(), caller=CITIZEN, department="roads", language="en",
            call_id=None, ticket_id=None, at=clock.now,
        )  # fmt: skip
        assert callback is not None
        callback_id = callback.id
    clock.now += timedelta(minutes=1)
    first = book_visit(demo_db, CITIZEN, clock)  # newer than the callback: replies are its

    assert signed.sms(CITIZEN, "2").status_code == 200
    moved = visit(demo_db, first.id)
    assert moved.slot_start == first.slot_start + timedelta(minutes=30)
    reply = last_reply(demo_db)
    assert reply.template == "appointment_sms.moved" and first.code in reply.body
    assert "civil status" in reply.body

    signed.sms(CITIZEN, "1")
    assert visit(demo_db, first.id).confirmed_at is not None
    assert last_reply(demo_db).template == "appointment_sms.confirmed"

    signed.sms(CITIZEN, "0")
    assert visit(demo_db, first.id).status == "cancelled"
    assert last_reply(demo_db).template == "appointment_sms.cancelled"
    assert book_visit(demo_db, "+40733000001", clock).slot_start == first.slot_start
    assert book_visit(demo_db, "+40733000002", clock).slot_start == moved.slot_start  # freed

    signed.sms(CITIZEN, "1")  # no appointment pending now: the callback is the newest offer
    reply = last_reply(demo_db)
    assert reply.template == "callback_sms.confirmed"
    with demo_db.session(read_only=True) as session:
        assert session.get_one(callbacks.Callback, callback_id).confirmed_at is not None


def test_the_reminder_goes_the_day_before_once_and_not_for_a_moved_slot(
    demo_db: Database, demo_settings: Settings, clock: Clock
) -> None:
    assert appointments.REMIND in job_handlers(demo_settings, demo_db)  # `ivr worker` runs it
    friday = date.today() + timedelta(days=1 + (3 - date.today().weekday()) % 7)
    clock.now = datetime.combine(friday, time(15), tzinfo=ZoneInfo("Europe/Bucharest"))
    # after Friday's closing: the slot is the next working morning, over a day ahead
    booked = book_visit(demo_db, CITIZEN, clock)
    with demo_db.session(read_only=True) as session:
        [job] = session.scalars(select(Job).where(Job.kind == appointments.REMIND)).all()
        payload, due = job.payload, job.run_after
    assert due == booked.slot_start - timedelta(days=1)
    jobs = AppointmentJobs(demo_db, FlowRegistry(Path(DEMO_FLOW_PATH)), clock)
    clock.now = due
    jobs.remind(payload)
    jobs.remind(payload)
    with demo_db.session(read_only=True) as session:
        [reminder] = session.scalars(select(SmsOutbox)).all()
        assert reminder.template == "appointment_sms.reminder" and reminder.to == CITIZEN
        assert booked.code in reminder.body and "tomorrow" in reminder.body
        row = session.get_one(Appointment, booked.id)
        row_slot = row.slot_start
    with demo_db.session() as session:
        row = session.get_one(Appointment, booked.id)
        row.reminded_at = None
        row.slot_start = row_slot + timedelta(hours=1)  # moved by hand: the old job is stale
    jobs.remind(payload)
    with demo_db.session(read_only=True) as session:
        assert len(session.scalars(select(SmsOutbox)).all()) == 1


@pytest.mark.parametrize("language", ["ro", "en"])
def test_every_appointment_template_fits_in_two_segments(language: str) -> None:
    flow = demo_flow()
    texts = flow.texts.appointment_sms
    assert texts is not None
    longest = {
        "service": max((s.name[language] for s in flow.services.values()), key=len),
        "counter": max((s.counter for s in flow.services.values()), key=len),
        "code": "000000",
        "when": "24.12 10:00",
    }
    filled = {
        name: gsm_fitted(fill(getattr(texts, name)[language], longest))
        for name in type(texts).model_fields
    }
    assert {name: body for name, body in filled.items() if segments(body) > 2} == {}
