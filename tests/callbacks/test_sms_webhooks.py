"""The inbound SMS and delivery status webhooks on the demo city: signed, once per
MessageSid, answered through the outbox, statuses only forward."""

from __future__ import annotations

from datetime import UTC, datetime

from callback_flows import demo_flow
from callback_site import supervisor_client
from callback_twilio import SignedTwilio, new_message_sid
from flask import Flask
from sqlalchemy import select
from storage.filing import file_ticket

from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import Callback, SmsDelivery, SmsInbound, SmsOptOut, SmsOutbox
from ivr.storage.outbox import queue_sms, segments

CITIZEN = "+40722111222"
NEIGHBOUR = "+40733444555"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def book(
    database: Database, caller: str = CITIZEN, language: str = "en", department: str = "roads"
) -> int:
    now = datetime.now(UTC)
    with database.session() as session:
        callback = callbacks.book_first_free(
            session,
            demo_flow(),
            caller=caller,
            department=department,
            language=language,
            call_id=None,
            ticket_id=None,
            at=now,
        )
        assert callback is not None
        return callback.id


def outbox(database: Database) -> list[SmsOutbox]:
    with database.session(read_only=True) as session:
        rows = list(session.scalars(select(SmsOutbox).order_by(SmsOutbox.id)))
        session.expunge_all()
        return rows


def callback(database: Database, callback_id: int) -> Callback:
    with database.session(read_only=True) as session:
        row = session.get_one(Callback, callback_id)
        session.expunge(row)
        return row


def test_an_unsigned_sms_is_refused(signed: SignedTwilio, demo_db: Database) -> None:
    form = {"MessageSid": new_message_sid(), "From": CITIZEN, "Body": "1"}
    assert signed.post("/twilio/sms", form, signed=False).status_code == 403
    assert outbox(demo_db) == []


def test_1_confirms_once_however_often_twilio_repeats_it(
    signed: SignedTwilio, demo_db: Database
) -> None:
    booked = book(demo_db)
    sid = new_message_sid()
    for _ in range(3):
        response = signed.sms(CITIZEN, " 1 ", sid=sid)
        assert response.status_code == 200 and response.data == EMPTY_TWIML
    assert callback(demo_db, booked).confirmed_at is not None
    [reply] = outbox(demo_db)
    assert reply.to == CITIZEN and reply.template == "callback_sms.confirmed"
    assert "confirmed" in reply.body and reply.language == "en"
    with demo_db.session(read_only=True) as session:
        assert session.scalars(select(SmsInbound.command)).all() == ["confirm"]


def test_2_moves_then_0_cancels_then_1_finds_nothing(
    signed: SignedTwilio, demo_db: Database
) -> None:
    booked = book(demo_db)
    first = callback(demo_db, booked).slot_start
    signed.sms(CITIZEN, "2")
    moved = callback(demo_db, booked)
    assert moved.slot_start > first and moved.status == "booked"
    signed.sms(CITIZEN, "0")
    assert callback(demo_db, booked).status == "cancelled"
    signed.sms(CITIZEN, "1")
    templates = [m.template for m in outbox(demo_db)]
    assert templates == [
        "callback_sms.moved",
        "callback_sms.cancelled",
        "callback_sms.no_offer",
    ]


def test_a_reply_applies_to_the_senders_newest_offer_only(
    signed: SignedTwilio, demo_db: Database
) -> None:
    older = book(demo_db, department="lighting")
    newer = book(demo_db)
    neighbours = book(demo_db, NEIGHBOUR)
    signed.sms(CITIZEN, "0")
    assert callback(demo_db, newer).status == "cancelled"
    assert callback(demo_db, older).status == "booked"
    assert callback(demo_db, neighbours).status == "booked"


def test_stop_opts_out_and_nothing_is_sent_until_start(
    signed: SignedTwilio, demo_db: Database
) -> None:
    booked = book(demo_db)
    signed.sms(CITIZEN, "STOP")
    signed.sms(CITIZEN, "0")
    assert callback(demo_db, booked).status == "booked"
    assert outbox(demo_db) == []
    signed.sms(CITIZEN, "start")
    with demo_db.session(read_only=True) as session:
        assert session.scalars(select(SmsOptOut)).all() == []
    assert outbox(demo_db) == []  # Twilio answers START itself


def test_a_second_booking_in_one_department_hands_back_the_first(
    signed: SignedTwilio, demo_db: Database
) -> None:
    first = book(demo_db)
    assert book(demo_db) == first  # one upcoming callback per department (the flow's limit)
    assert book(demo_db, department="lighting") != first
    signed.sms(CITIZEN, "2")  # the newest (lighting) moves; roads stays as it was
    assert callback(demo_db, first).status == "booked"


def test_yes_confirms_as_1_does_and_opts_an_opted_out_number_in(
    signed: SignedTwilio, demo_db: Database
) -> None:
    booked = book(demo_db)
    signed.sms(CITIZEN, "STOP")
    signed.sms(CITIZEN, "Yes")
    assert callback(demo_db, booked).confirmed_at is not None
    with demo_db.session(read_only=True) as session:
        assert session.scalars(select(SmsOptOut)).all() == []
    assert [m.template for m in outbox(demo_db)] == ["callback_sms.confirmed"]
    other = book(demo_db, "+40722111333")
    signed.sms("+40722111333", "Da")
    assert callback(demo_db, other).confirmed_at is not None


def test_huge_and_emoji_bodies_get_the_short_help(signed: SignedTwilio, demo_db: Database) -> None:
    assert signed.sms(CITIZEN, "🙂" * 500).status_code == 200
    assert signed.sms(CITIZEN, "x" * 10_000).status_code == 200
    replies = outbox(demo_db)
    assert [m.template for m in replies] == ["callback_sms.help"] * 2
    assert all(segments(m.body) <= 2 for m in replies)
    with demo_db.session(read_only=True) as session:
        bodies = session.scalars(select(SmsInbound.body)).all()
    assert sorted(len(b) for b in bodies) == [500, 1600]


def test_status_is_read_only_to_the_tickets_own_number(
    signed: SignedTwilio, demo_db: Database
) -> None:
    ticket, _pin = file_ticket(demo_db, datetime.now(UTC), caller=CITIZEN, language="en")
    ref = ticket.ref
    signed.sms(NEIGHBOUR, f"STATUS {ref}")
    signed.sms(CITIZEN, f"status {ref.replace('-', '')}")
    neighbour, citizen = outbox(demo_db)
    assert neighbour.to == NEIGHBOUR and neighbour.template == "callback_sms.unknown_ref"
    assert citizen.to == CITIZEN and "registered" in citizen.body and ref in citizen.body


def test_garbled_requests_answer_400(signed: SignedTwilio) -> None:
    assert signed.post("/twilio/sms", {"From": CITIZEN, "Body": "1"}).status_code == 400
    no_sender = {"MessageSid": new_message_sid(), "Body": "1"}
    assert signed.post("/twilio/sms", no_sender).status_code == 400
    bad_status = {"MessageSid": new_message_sid(), "MessageStatus": "lost"}
    assert signed.post("/twilio/sms-status", bad_status).status_code == 400


def status(signed: SignedTwilio, sid: str, state: str, code: str = "") -> int:
    form = {"MessageSid": sid, "MessageStatus": state, "To": CITIZEN}
    if code:
        form["ErrorCode"] = code
    return int(signed.post("/twilio/sms-status", form).status_code)


def test_delivery_statuses_only_move_forward(signed: SignedTwilio, demo_db: Database) -> None:
    sid = new_message_sid()
    assert [status(signed, sid, s) for s in ("sent", "delivered", "sent", "queued")] == [204] * 4
    with demo_db.session(read_only=True) as session:
        assert session.get_one(SmsDelivery, sid).status == "delivered"


def test_a_21610_failure_puts_the_number_on_our_stop_list(
    signed: SignedTwilio, demo_db: Database
) -> None:
    status(signed, new_message_sid(), "failed", "21610")
    with demo_db.session(read_only=True) as session:
        assert session.scalars(select(SmsOptOut.number)).all() == [CITIZEN]


def test_the_ticket_page_shows_the_delivery_status(
    signed: SignedTwilio, demo_db: Database, demo_app: Flask
) -> None:
    sid = new_message_sid()
    ticket, _pin = file_ticket(demo_db, datetime.now(UTC), caller=CITIZEN, language="en")
    with demo_db.session() as session:
        message = queue_sms(
            session,
            to=CITIZEN,
            body="Demo City Hall: report registered",
            template="sms_ticket",
            language="en",
            ticket_id=ticket.id,
            at=datetime.now(UTC),
        )
        assert message is not None
        message.status, message.provider_sid = "sent", sid
        ref = ticket.ref
    status(signed, sid, "delivered")
    html = supervisor_client(demo_app, demo_db).get(f"/tickets/{ref}").get_data(as_text=True)
    assert "sent, delivered" in html
