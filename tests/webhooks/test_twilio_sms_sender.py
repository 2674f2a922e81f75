"""The Twilio SmsSender with the real `twilio` REST client against a local stand-in for the
Twilio API: exactly one SMS across retries, a worker killed after Twilio answered 201, and
21610 never retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from twilio_rest_standin import ACCOUNT, TwilioStandIn, running_standin

from ivr.jobs import PermanentJobError
from ivr.storage.db import Database
from ivr.storage.models import SmsOutbox
from ivr.storage.outbox import queue_sms
from webhooks.sms_sender import TwilioSmsSender, sms_handlers

OUR_NUMBER = "+35982000000"
OPTED_OUT_NUMBER = "+35988999999"


@pytest.fixture
def twilio_api() -> Iterator[TwilioStandIn]:
    with running_standin() as server:
        server.opted_out.add(OPTED_OUT_NUMBER)
        yield server


@pytest.fixture
def sender(twilio_api: TwilioStandIn) -> TwilioSmsSender:
    return TwilioSmsSender(twilio_api.client(), OUR_NUMBER)


def creates(twilio_api: TwilioStandIn) -> int:
    """How many messages the sender asked Twilio to create."""
    posted = [path for method, path in twilio_api.requests if method == "POST"]
    return sum(path.endswith("/Messages.json") for path in posted)


def queued(database: Database, to: str, body: str = "Ruse: ticket 26-000001 registered") -> int:
    with database.session() as session:
        message = queue_sms(
            session,
            to=to,
            body=body,
            template="sms_ticket",
            language="ko",
            ticket_id=None,
            at=datetime.now(UTC),
        )
        assert message is not None
        return message.id


def row(database: Database, outbox_id: int) -> SmsOutbox:
    with database.session() as session:
        message = session.get_one(SmsOutbox, outbox_id)
        session.expunge(message)
        return message


def test_a_message_is_sent_once_however_often_the_job_runs(
    database: Database, sender: TwilioSmsSender, twilio_api: TwilioStandIn
) -> None:
    outbox_id = queued(database, "+35988123456")
    send = sms_handlers(database, sender)["sms.send"]
    for _ in range(3):
        send({"outbox_id": outbox_id})
    sent = row(database, outbox_id)
    assert sent.status == "sent" and creates(twilio_api) == 1
    assert sent.provider_sid == twilio_api.messages[0]["sid"]
    assert twilio_api.messages[0]["from"] == OUR_NUMBER


class Killed(BaseException):
    """The worker process dies (not an error the outbox could catch)."""


class DyingSender(TwilioSmsSender):
    def send(self, to: str, body: str) -> str:
        super().send(to, body)  # Twilio answered 201 ...
        raise Killed  # ... and the worker died before committing `sent`


def test_a_worker_killed_after_twilio_answered_201_does_not_send_twice(
    database: Database, sender: TwilioSmsSender, twilio_api: TwilioStandIn
) -> None:
    outbox_id = queued(database, "+35988123456")
    dying = DyingSender(sender.client, OUR_NUMBER)
    with pytest.raises(Killed):
        sms_handlers(database, dying)["sms.send"]({"outbox_id": outbox_id})
    assert row(database, outbox_id).status == "sending"
    sms_handlers(database, sender)["sms.send"]({"outbox_id": outbox_id})
    settled = row(database, outbox_id)
    assert settled.status == "sent" and creates(twilio_api) == 1
    assert settled.provider_sid == twilio_api.messages[0]["sid"]


def test_a_worker_killed_before_twilio_had_it_sends_it_once_after_the_lookup(
    database: Database, sender: TwilioSmsSender, twilio_api: TwilioStandIn
) -> None:
    outbox_id = queued(database, "+35988123456")
    other = queued(database, "+35988123456", body="another text to the same number")
    sms_handlers(database, sender)["sms.send"]({"outbox_id": other})
    with database.session() as session:
        session.get_one(SmsOutbox, outbox_id).status = "sending"
    sms_handlers(database, sender)["sms.send"]({"outbox_id": outbox_id})
    assert row(database, outbox_id).status == "sent" and creates(twilio_api) == 2
    assert [m["body"] for m in twilio_api.messages].count("another text to the same number") == 1


def test_an_opted_out_number_fails_at_once_and_is_never_retried(
    database: Database, sender: TwilioSmsSender, twilio_api: TwilioStandIn
) -> None:
    outbox_id = queued(database, OPTED_OUT_NUMBER)
    send = sms_handlers(database, sender)["sms.send"]
    with pytest.raises(PermanentJobError):
        send({"outbox_id": outbox_id})
    send({"outbox_id": outbox_id})
    failed = row(database, outbox_id)
    assert failed.status == "failed" and "21610" in (failed.error or "")
    assert creates(twilio_api) == 1


def test_without_twilio_credentials_sms_go_to_the_log(
    database: Database, tmp_path: Any, twilio_api: TwilioStandIn
) -> None:
    from ivr.bootstrap import sms_job_handlers
    from ivr.config import Settings

    outbox_id = queued(database, "+35988123456")
    settings = Settings(data_dir=tmp_path, twilio_account_sid=ACCOUNT, twilio_from=OUR_NUMBER)
    sms_job_handlers(settings, database)["sms.send"]({"outbox_id": outbox_id})
    logged = row(database, outbox_id)
    assert logged.status == "sent" and str(logged.provider_sid).startswith("LOG-")
    assert creates(twilio_api) == 0
