"""Bad input to the SMS conversation on a real PostgreSQL: two replies from one number at
once, two citizens wanting the same next slot, the same message twice at once, a reply to a
callback whose slot has passed, a sender that is no phone number."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from callback_flows import demo_flow
from callback_twilio import new_message_sid
from sqlalchemy import select

from ivr.sms.inbound import receive_sms
from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import Callback, SmsInbound, SmsOutbox

FIRST, SECOND = "+40722111222", "+40733444555"


def book(database: Database, caller: str, at: datetime) -> Callback:
    with database.session() as session:
        callback = callbacks.book_first_free(
            session,
            demo_flow(),
            caller=caller,
            department="roads",
            language="en",
            call_id=None,
            ticket_id=None,
            at=at,
        )
        assert callback is not None
        session.expunge(callback)
        return callback


def at_once(*calls: Callable[[], object]) -> None:
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> None:
        start.wait()
        call()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def sms(database: Database, sender: str, body: str, sid: str | None = None) -> Callable[[], bool]:
    message_sid = sid or new_message_sid()
    return lambda: receive_sms(
        database,
        demo_flow(),
        message_sid=message_sid,
        sender=sender,
        body=body,
        at=datetime.now(UTC),
    )


def rows(database: Database) -> tuple[list[Callback], list[SmsOutbox]]:
    with database.session(read_only=True) as session:
        found = list(session.scalars(select(Callback).order_by(Callback.id)))
        sent = list(session.scalars(select(SmsOutbox).order_by(SmsOutbox.id)))
        session.expunge_all()
    return found, sent


def test_two_replies_at_once_leave_one_consistent_answer(pg_database: Database) -> None:
    book(pg_database, FIRST, datetime.now(UTC))
    at_once(sms(pg_database, FIRST, "2"), sms(pg_database, FIRST, "0"))
    [callback], replies = rows(pg_database)
    templates = sorted(r.template for r in replies)
    assert callback.status == "cancelled"  # whichever came first, 0 cancels in the end
    assert templates in (
        ["callback_sms.cancelled", "callback_sms.moved"],  # 2 first, then 0
        ["callback_sms.cancelled", "callback_sms.no_offer"],  # 0 first, then nothing left
    )


def test_two_citizens_never_get_the_same_last_place(pg_database: Database) -> None:
    now = datetime.now(UTC)
    first, second = book(pg_database, FIRST, now), book(pg_database, SECOND, now)
    assert first.slot_start != second.slot_start  # one place a slot (no officers on record)
    at_once(sms(pg_database, FIRST, "2"), sms(pg_database, SECOND, "2"))
    moved, _ = rows(pg_database)
    slots = [c.slot_start for c in moved]
    assert len(set(slots)) == 2 and all(c.status == "booked" for c in moved)


def test_the_same_message_twice_at_once_is_handled_once(pg_database: Database) -> None:
    book(pg_database, FIRST, datetime.now(UTC))
    sid = new_message_sid()
    at_once(sms(pg_database, FIRST, "1", sid), sms(pg_database, FIRST, "1", sid))
    [callback], replies = rows(pg_database)
    assert callback.confirmed_at is not None and len(replies) == 1
    with pg_database.session(read_only=True) as session:
        assert len(session.scalars(select(SmsInbound)).all()) == 1


def test_a_reply_after_the_slot_began_finds_no_offer(pg_database: Database) -> None:
    with pg_database.session() as session:
        callbacks.book_callback(
            session,
            caller=FIRST,
            department="roads",
            slot_start=datetime.now(UTC) - timedelta(minutes=5),
            language="en",
            call_id=None,
            ticket_id=None,
            at=datetime.now(UTC) - timedelta(days=1),
        )
    sms(pg_database, FIRST, "0")()
    [callback], [reply] = rows(pg_database)
    assert callback.status == "booked" and reply.template == "callback_sms.no_offer"


def test_a_sender_that_is_no_phone_number_gets_nothing(pg_database: Database) -> None:
    assert sms(pg_database, "CityHall", "1")()
    assert rows(pg_database) == ([], [])
