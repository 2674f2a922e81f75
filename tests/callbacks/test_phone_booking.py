"""Booking a callback by phone on the demo city's line: the first free slot is held and
offered, 2 (or no) offers the next, 1 (or yes) confirms it, then the SMS says how to change
it; officers on leave add no room; a withheld number books nothing; the survey at the end."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from callback_flows import demo_flow
from callback_line import BUCHAREST, TUESDAY_TEN, CallbackLine, demo_services
from sqlalchemy import select

from ivr.engine import events as ev
from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import Callback, Job, Officer, OfficerLeave, SmsOutbox, SurveyResponse

CITIZEN = "+40722111222"


def free(database: Database, at: datetime, count: int) -> list[datetime]:
    with database.session(read_only=True) as session:
        return callbacks.free_slots(session, demo_flow(), "roads", at, count=count)


def to_callback_offer(line: CallbackLine) -> None:
    line.keys("3")  # main menu: a callback
    line.keys("3")  # roads
    assert "callback.offer" in line.prompts()


def stored_callbacks(database: Database) -> list[Callback]:
    with database.session(read_only=True) as session:
        rows = list(session.scalars(select(Callback).order_by(Callback.id)))
        session.expunge_all()
        return rows


def test_2_offers_the_next_slot_and_1_confirms_it_with_an_sms(database: Database) -> None:
    line = CallbackLine(demo_services(database), CITIZEN)
    to_callback_offer(line)
    [offered] = stored_callbacks(database)
    assert offered.slot_start.astimezone(BUCHAREST).strftime("%H:%M") in line.texts()
    second = offered.slot_start + timedelta(minutes=30)
    line.keys("2")
    [held] = stored_callbacks(database)
    assert held.slot_start == second and held.confirmed_at is None
    assert second.astimezone(BUCHAREST).strftime("%H:%M") in line.texts()
    line.keys("1")
    assert "callback.confirm" in line.prompts()
    [booked] = stored_callbacks(database)
    assert booked.slot_start == second and booked.confirmed_at is not None
    with database.session(read_only=True) as session:
        sms = session.scalars(select(SmsOutbox)).one()
        jobs = session.execute(select(Job.kind, Job.payload, Job.run_after)).all()
    assert sms.to == CITIZEN and "Reply 1 to confirm, 2 for another time, 0 to cancel" in sms.body
    assert second.astimezone(BUCHAREST).strftime("%d.%m %H:%M") in sms.body
    placed = [(p, run) for kind, p, run in jobs if kind == "callback.place"]
    assert ({"callback_id": booked.id, "slot": second.isoformat()}, second) in placed


def test_a_spoken_yes_confirms(database: Database) -> None:
    line = CallbackLine(demo_services(database), CITIZEN)
    to_callback_offer(line)
    line.say("yes")
    assert "callback.confirm" in line.prompts()
    assert stored_callbacks(database)[0].confirmed_at is not None


def test_silence_keeps_the_held_slot_and_texts_it(database: Database) -> None:
    line = CallbackLine(demo_services(database), CITIZEN)
    to_callback_offer(line)
    for _ in range(3):
        line.send(ev.NoSpeech)
    assert "callback.confirm" in line.prompts()
    [kept] = stored_callbacks(database)
    assert kept.status == "booked" and kept.confirmed_at is None


def test_a_hang_up_at_the_offer_keeps_the_slot_and_texts_how_to_change_it(
    database: Database,
) -> None:
    line = CallbackLine(demo_services(database), CITIZEN)
    to_callback_offer(line)
    line.send(ev.CallerHungUp)
    with database.session(read_only=True) as session:
        sms = session.scalars(select(SmsOutbox)).one()
    assert "0 to cancel" in sms.body and stored_callbacks(database)[0].status == "booked"


def test_a_withheld_number_books_nothing(database: Database) -> None:
    line = CallbackLine(demo_services(database), None)
    line.keys("3")
    line.keys("3")
    assert "callback.full" in line.prompts() and stored_callbacks(database) == []


def test_an_officer_on_leave_adds_no_room(database: Database) -> None:
    with database.session() as session:
        ana = Officer(name="Ana", department="roads", callback_capacity=1, active=True)
        dan = Officer(name="Dan", department="roads", callback_capacity=1, active=True)
        session.add_all([ana, dan])
        session.flush()
        tuesday = TUESDAY_TEN.astimezone(BUCHAREST).replace(hour=0)
        session.add(
            OfficerLeave(officer_id=dan.id, starts=tuesday, ends=tuesday + timedelta(days=1))
        )
    services = demo_services(database)
    slots = []
    for caller in ("+40722000001", "+40722000002", "+40722000003"):
        line = CallbackLine(services, caller)
        to_callback_offer(line)
        line.keys("1")
        slots.append(stored_callbacks(database)[-1].slot_start)
    assert len(set(slots)) == 3  # Ana alone: one callback per slot on Tuesday
    with database.session(read_only=True) as session:
        assert callbacks.capacity(session, "roads") == 2
        wednesday = TUESDAY_TEN + timedelta(days=1)
        assert (
            callbacks.capacity(session, "roads", wednesday, wednesday + timedelta(minutes=30)) == 2
        )
        assert (
            callbacks.capacity(session, "roads", TUESDAY_TEN, TUESDAY_TEN + timedelta(minutes=30))
            == 1
        )


def test_the_survey_stores_one_score(database: Database) -> None:
    line = CallbackLine(demo_services(database), CITIZEN)
    to_callback_offer(line)
    line.keys("1")
    line.keys("2")  # anything else? no: the survey
    assert "survey.prompt" in line.prompts()
    line.keys("4")
    assert "survey.thanks" in line.prompts() and line.runner.session.ended
    with database.session(read_only=True) as session:
        [response] = session.scalars(select(SurveyResponse)).all()
    assert (response.score, response.kind, response.call_id) == (4, "ivr", line.runner.call_id)


def test_the_survey_without_an_answer_ends_the_call_without_a_score(database: Database) -> None:
    line = CallbackLine(demo_services(database), CITIZEN)
    to_callback_offer(line)
    line.keys("1")
    line.keys("2")
    for _ in range(3):
        line.send(ev.NoSpeech)
    assert line.runner.session.ended
    with database.session(read_only=True) as session:
        assert session.scalars(select(SurveyResponse)).all() == []


def test_bookings_racing_on_postgresql_never_overfill_a_slot(pg_url: str) -> None:
    database = Database(pg_url)
    database.upgrade()
    try:
        barrier = threading.Barrier(4)
        booked: list[datetime] = []

        def book(caller: str) -> None:
            barrier.wait()
            with database.session() as session:
                callback = callbacks.book_first_free(
                    session,
                    demo_flow(),
                    caller=caller,
                    department="roads",
                    language="ro",
                    call_id=None,
                    ticket_id=None,
                    at=TUESDAY_TEN,
                )
                assert callback is not None
                booked.append(callback.slot_start)

        threads = [threading.Thread(target=book, args=(f"+4072200000{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(booked) == 4 and len(set(booked)) == 4  # one room a slot (unstaffed)
    finally:
        database.dispose()


def test_slots_offered_are_inside_office_hours(database: Database) -> None:
    friday_noon = datetime(2026, 11, 27, 12, 0, tzinfo=BUCHAREST).astimezone(UTC)
    slots = free(database, friday_noon, count=6)
    local = [slot.astimezone(BUCHAREST) for slot in slots]
    assert local[0].hour == 12 and all(s.weekday() < 5 for s in local)
    assert all(8 <= s.hour < 16 for s in local)
    assert [s.strftime("%H:%M") for s in local] == ["12:00", "12:30", "13:00", "13:30"]
    # after Friday's 14:00 nothing is free in the 48 hours; 30 November and 1 December are
    # public holidays in Romania, so the first slots after the window are on Wednesday
    friday_close = datetime(2026, 11, 27, 14, 0, tzinfo=BUCHAREST).astimezone(UTC)
    after = [s.astimezone(BUCHAREST) for s in free(database, friday_close, count=2)]
    assert [s.strftime("%a %d %H:%M") for s in after] == ["Wed 02 08:00", "Wed 02 08:30"]


def test_a_bulgarian_caller_books_after_hours_and_gets_the_sms_in_cyrillic(
    database: Database,
) -> None:
    from callback_flows import RUSE_FLOW_PATH

    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=ZoneInfo("Europe/Sofia")).astimezone(UTC)
    line = CallbackLine(demo_services(database, RUSE_FLOW_PATH), "+359888123456", saturday, "bg")
    line.keys("3")  # an officer: closed on Saturday, so the after-hours menu
    line.keys("2")  # a callback in office hours
    assert "callback.offer" in line.prompts() and "понеделник" in line.texts()
    line.keys("1")
    with database.session(read_only=True) as session:
        sms = session.scalars(select(SmsOutbox)).one()
        booked = session.scalars(select(Callback)).one()
    assert sms.language == "bg" and "1 потвърждение, 2 друг час, 0 отказ" in sms.body
    assert sms.segments <= 2 and booked.confirmed_at is not None
    assert booked.slot_start.astimezone(ZoneInfo("Europe/Sofia")).weekday() == 0


def test_a_report_filed_by_phone_has_its_deadline_check_queued(database: Database) -> None:
    line = CallbackLine(demo_services(database), CITIZEN)
    line.keys("1")  # report a problem
    line.keys("1")  # a pothole
    line.keys("2#")  # district 2
    line.send(ev.RecordingFinished, recording_id=None, seconds=4.0, transcript="a deep hole")
    line.keys("1")  # file it
    assert "report_file.prompt" in line.prompts()
    with database.session(read_only=True) as session:
        [(payload, due)] = session.execute(
            select(Job.payload, Job.run_after).where(Job.kind == "ticket.deadline")
        ).all()
    assert payload["level"] == 0
    # pothole: 10 days from Tuesday 24 November, checked when the 4th of December is over
    assert due.astimezone(BUCHAREST) == datetime(2026, 12, 5, 0, 0, tzinfo=BUCHAREST)


def test_a_second_call_for_the_same_department_offers_the_held_callback(
    any_database: Database,
) -> None:
    """Two calls from one number at once (PostgreSQL and SQLite): one callback, which the
    second call offers again (1 keeps it, 2 moves it)."""
    barrier = threading.Barrier(2)
    lines: list[CallbackLine] = []

    def call() -> None:
        line = CallbackLine(demo_services(any_database), CITIZEN)
        barrier.wait()
        to_callback_offer(line)
        lines.append(line)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [held] = stored_callbacks(any_database)
    when = held.slot_start.astimezone(BUCHAREST).strftime("%H:%M")
    assert all(when in line.texts() for line in lines)
    lines[1].keys("2")
    [moved] = stored_callbacks(any_database)
    assert moved.id == held.id and moved.slot_start == held.slot_start + timedelta(minutes=30)
