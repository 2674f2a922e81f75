"""The SMS outbox: segments, opt-outs, and sending that commits `sending` first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ivr.jobs import PermanentJobError, sms_handlers
from ivr.storage.db import Database
from ivr.storage.models import Job, SmsOutbox
from ivr.storage.outbox import (
    LoggingSmsSender,
    SmsOutcomeUnknown,
    SmsRejected,
    is_opted_out,
    opt_in,
    opt_out,
    queue_sms,
    segments,
    send_queued,
)

AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SENT_AT = datetime(2026, 5, 4, 9, 1, tzinfo=UTC)
TO = "+40722111222"


def clock() -> datetime:
    return SENT_AT


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character takes two septets
        ("a" * 159 + "[", 2),
        ("é" * 160, 1),  # é is in the GSM alphabet
        ("ă" * 70, 1),
        ("ă" * 71, 2),
        ("Primăria: sesizarea a fost înregistrată" + "x" * 40, 2),
        ("ș" + "a" * 69, 1),
        ("ț" + "a" * 133, 2),
        ("ț" + "a" * 134, 3),
        ("Общината: " + "б" * 60, 1),
        ("Общината: " + "б" * 61, 2),
    ],
)
def test_segments(text: str, count: int) -> None:
    assert segments(text) == count


def queue(database: Database, to: str = TO) -> SmsOutbox | None:
    with database.session() as session:
        return queue_sms(
            session,
            to=to,
            body="Primaria Demo: sesizarea are numarul 26-000001.",
            template="sms_ticket",
            language="ro",
            ticket_id=None,
            at=AT,
        )


def test_queueing_stores_the_message_and_its_job(any_database: Database) -> None:
    message = queue(any_database)
    assert message is not None
    with any_database.session(read_only=True) as session:
        stored = session.get_one(SmsOutbox, message.id)
        job = session.scalars(select(Job)).one()
    assert (stored.status, stored.segments, stored.attempts) == ("queued", 1, 0)
    assert (job.kind, job.payload, job.status) == ("sms.send", {"outbox_id": message.id}, "queued")


def test_nothing_is_queued_for_a_number_that_opted_out(any_database: Database) -> None:
    with any_database.session() as session:
        opt_out(session, TO, AT)
        opt_out(session, TO, AT)
        assert is_opted_out(session, TO)
    assert queue(any_database) is None
    with any_database.session(read_only=True) as session:
        assert session.scalars(select(SmsOutbox)).all() == []
        assert session.scalars(select(Job)).all() == []
    with any_database.session() as session:
        opt_in(session, TO)
    assert queue(any_database) is not None


class StatusCheckingSender:
    """A sender that looks, in a session of its own, at the row it is asked to send."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.seen: list[str] = []

    def send(self, to: str, body: str) -> str:
        with self.database.session(read_only=True) as session:
            message = session.scalars(select(SmsOutbox).where(SmsOutbox.to == to)).one()
            self.seen.append(message.status)
        return "SM123"


def test_sending_is_committed_before_the_sender_is_called(any_database: Database) -> None:
    message = queue(any_database)
    assert message is not None
    sender = StatusCheckingSender(any_database)
    send_queued(any_database, message.id, sender, clock=clock)
    assert sender.seen == ["sending"]
    with any_database.session(read_only=True) as session:
        sent = session.get_one(SmsOutbox, message.id)
    assert (sent.status, sent.provider_sid, sent.sent_at, sent.attempts) == (
        "sent",
        "SM123",
        SENT_AT,
        1,
    )
    send_queued(any_database, message.id, sender, clock=clock)
    assert sender.seen == ["sending"]


class FailingSender:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def send(self, to: str, body: str) -> str:
        raise self.error


def test_a_sender_error_puts_the_message_back_in_the_queue(any_database: Database) -> None:
    message = queue(any_database)
    assert message is not None
    with pytest.raises(ConnectionError):
        send_queued(any_database, message.id, FailingSender(ConnectionError("down")), clock=clock)
    with any_database.session(read_only=True) as session:
        stored = session.get_one(SmsOutbox, message.id)
    assert (stored.status, stored.error) == ("queued", "ConnectionError: down")


def test_a_rejected_message_fails_for_good(any_database: Database) -> None:
    message = queue(any_database)
    assert message is not None
    handler = sms_handlers(any_database, FailingSender(SmsRejected("21610 unsubscribed")))
    with pytest.raises(PermanentJobError):
        handler["sms.send"]({"outbox_id": message.id})
    with any_database.session(read_only=True) as session:
        assert session.get_one(SmsOutbox, message.id).status == "failed"


def test_a_message_left_sending_is_not_sent_again_blindly(any_database: Database) -> None:
    message = queue(any_database)
    assert message is not None
    with any_database.session() as session:
        session.get_one(SmsOutbox, message.id).status = "sending"
    sender = StatusCheckingSender(any_database)
    with pytest.raises(SmsOutcomeUnknown):
        send_queued(any_database, message.id, sender, clock=clock)
    assert sender.seen == []


def test_a_number_that_opted_out_after_queueing_gets_nothing(any_database: Database) -> None:
    message = queue(any_database)
    assert message is not None
    with any_database.session() as session:
        opt_out(session, TO, AT)
    sender = StatusCheckingSender(any_database)
    send_queued(any_database, message.id, sender, clock=clock)
    assert sender.seen == []
    with any_database.session(read_only=True) as session:
        assert session.get_one(SmsOutbox, message.id).status == "failed"


def test_the_logging_sender_returns_a_local_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    message_id = LoggingSmsSender().send(TO, "hello")
    assert message_id.startswith("LOG-")
    assert "hello" in caplog.text
