"""SMS replies in the citizen's language, and nothing about a stranger's report: a number
that booked in English is answered in English (help, "no call booked") even with no call
pending; STATUS and ESCALATE of someone else's report get the very answer a made-up number
gets, in the same language. Through the signed webhook, the replies read from the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from callback_flows import demo_flow
from callback_twilio import SignedTwilio
from hand_clock import Clock
from sqlalchemy import select
from storage.filing import file_ticket

from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import SmsOutbox

BOOKER = "+40722111222"
STRANGER = "+40722999888"
BUCHAREST = ZoneInfo("Europe/Bucharest")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=BUCHAREST).astimezone(UTC)


def replies(database: Database, to: str) -> list[tuple[str, str]]:
    with database.session(read_only=True) as session:
        rows = session.execute(
            select(SmsOutbox.language, SmsOutbox.body)
            .where(SmsOutbox.to == to)
            .order_by(SmsOutbox.id)
        )
        return [(language, body) for language, body in rows]


def test_an_english_booker_is_answered_in_english_with_no_call_pending(
    demo_db: Database, signed: SignedTwilio, clock: Clock
) -> None:
    with demo_db.session() as session:
        callback = callbacks.book_first_free(
            session,
            demo_flow(),
            caller=BOOKER,
            department="roads",
            language="en",
            call_id=None,
            ticket_id=None,
            at=MONDAY,
        )
        assert callback is not None
        slot = callback.slot_start
    clock.now = slot + timedelta(days=1)  # the call is past: nothing pending any more
    signed.sms(BOOKER, "hello?")
    signed.sms(BOOKER, "1")
    [help_reply, no_offer] = replies(demo_db, BOOKER)
    assert help_reply[0] == "en" and "reply 1 to confirm" in help_reply[1]
    assert no_offer == ("en", "Demo City Hall: you have no call booked. Call us to book one.")


@pytest.mark.parametrize("command", ["STATUS", "ESCALATE"])
def test_a_strangers_answer_does_not_tell_whether_a_report_exists(
    demo_db: Database, signed: SignedTwilio, clock: Clock, command: str
) -> None:
    ticket, _pin = file_ticket(demo_db, MONDAY, caller=BOOKER, language="en")
    made_up = "26-000777"
    clock.now = MONDAY + timedelta(hours=1)
    signed.sms(STRANGER, f"{command} {ticket.ref}")
    signed.sms(STRANGER, f"{command} {made_up}")
    [(real_language, real), (fake_language, fake)] = replies(demo_db, STRANGER)
    assert real_language == fake_language == "ro"
    assert real.replace(ticket.ref, "REF") == fake.replace(made_up, "REF")


def test_a_romanian_sms_with_a_department_name_keeps_to_one_gsm_segment(
    demo_db: Database, signed: SignedTwilio, clock: Clock
) -> None:
    with demo_db.session() as session:
        callbacks.book_first_free(
            session,
            demo_flow(),
            caller=BOOKER,
            department="roads",
            language="ro",
            call_id=None,
            ticket_id=None,
            at=MONDAY - timedelta(hours=2),  # 07:00: the 08:00 slot is still to come
        )
    clock.now = MONDAY - timedelta(hours=2) + timedelta(minutes=5)
    signed.sms(BOOKER, "1")
    with demo_db.session(read_only=True) as session:
        sms = session.scalars(select(SmsOutbox).where(SmsOutbox.to == BOOKER)).one()
    assert "de la Drumuri si infrastructura pe" in sms.body  # named "Drumuri și infrastructură"
    assert sms.segments == 1
