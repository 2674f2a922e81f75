"""The Twilio SmsSender of the outbox (DESIGN §5), and the "sms.send" job that settles a
message found `sending` before it sends anything again.

- `send` is `client.messages.create`; error 21610 (the number replied STOP at the carrier)
  raises SmsRejected, which the outbox marks failed and never retries.
- `find` looks a message up at Twilio: one to the same number, from our number, with the same
  body, created since the row was queued.
- `sms_handlers` wraps the outbox's job: a row left `sending` by a worker that stopped after
  asking Twilio is marked sent when Twilio has the message, else queued again and sent once.
The REST client does the I/O; tests point it at a local stand-in (`client.api.base_url`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ivr.jobs import Handler
from ivr.jobs import sms_handlers as outbox_handlers
from ivr.storage.db import Database
from ivr.storage.models import SmsOutbox
from ivr.storage.outbox import SmsRejected

log = logging.getLogger(__name__)

OPTED_OUT = 21610
LOOKUP_LIMIT = 50
CLOCK_SKEW = timedelta(minutes=5)


class TwilioSmsSender:
    def __init__(
        self, client: Client, from_number: str, status_callback: str | None = None
    ) -> None:
        self.client = client
        self.from_number = from_number
        self.status_callback = status_callback
        """Where Twilio posts the message's delivery statuses (`webhooks.sms`)."""

    def send(self, to: str, body: str) -> str:
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        try:
            message = self.client.messages.create(to=to, from_=self.from_number, body=body, **extra)
        except TwilioRestException as error:
            if error.code == OPTED_OUT:
                raise SmsRejected(f"Twilio {error.code}: {error.msg}") from error
            raise
        return str(message.sid)

    def find(self, to: str, body: str, since: datetime) -> tuple[str, datetime] | None:
        """The sid and creation time of a message Twilio already has for this row, or None."""
        for message in self.client.messages.list(to=to, from_=self.from_number, limit=LOOKUP_LIMIT):
            created = message.date_created or since
            if message.body == body and created >= since - CLOCK_SKEW:
                return str(message.sid), created
        return None


def settle(database: Database, outbox_id: int, sender: TwilioSmsSender) -> None:
    """A row left `sending`: sent if Twilio has it, else back to `queued`."""
    with database.session() as session:
        message = session.get(SmsOutbox, outbox_id)
        if message is None or message.status != "sending":
            return
        to, body, since = message.to, message.body, message.created_at
    found = sender.find(to, body, since)
    with database.session() as session:
        message = session.get_one(SmsOutbox, outbox_id)
        if found is None:
            log.info("SMS %s: not at Twilio after a stopped send; sending it again", outbox_id)
            message.status = "queued"
        else:
            log.info("SMS %s: Twilio has it already as %s", outbox_id, found[0])
            message.status, message.provider_sid, message.sent_at = "sent", *found


def sms_handlers(database: Database, sender: TwilioSmsSender) -> dict[str, Handler]:
    """The outbox's "sms.send" job, settling a `sending` row at Twilio first."""
    send = outbox_handlers(database, sender)["sms.send"]

    def settled_send(payload: dict[str, Any]) -> None:
        settle(database, int(payload["outbox_id"]), sender)
        send(payload)

    return {"sms.send": settled_send}
