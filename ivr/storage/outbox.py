"""The SMS outbox (DESIGN §5): messages queued in the same transaction as what caused them,
sent by the "sms.send" job, never to a number that opted out.

Sending marks the row `sending` and commits before the provider is asked, then `sent` with
the provider's id. A crash in between leaves `sending`: the outcome is unknown, so the row is
not sent again blindly (SmsOutcomeUnknown); the provider's sender settles it by a look-up.
"""

from __future__ import annotations

import logging
import math
import unicodedata
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import gsm0338  # noqa: F401  # registers the "gsm03.38" codec
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ivr.clock import Clock, utc_now
from ivr.storage.db import Database
from ivr.storage.models import SmsDelivery, SmsOptOut, SmsOutbox
from ivr.storage.queue import enqueue
from ivr.storage.tickets import find_ticket
from ivr.storage.upsert import insert_statement, upsert

if TYPE_CHECKING:
    from ivr.engine.ports import SmsSender

__all__ = [
    "LoggingSmsSender",
    "SmsOutcomeUnknown",
    "SmsRejected",
    "gsm_fitted",
    "is_opted_out",
    "opt_in",
    "opt_out",
    "queue_sms",
    "record_delivery",
    "segments",
    "send_queued",
]

logger = logging.getLogger(__name__)

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


class SmsRejected(Exception):
    """Raised by a sender when the provider refuses a message for good (e.g. the number
    opted out at the carrier): it is failed, never retried."""


class SmsOutcomeUnknown(Exception):
    """A message found `sending`: an earlier attempt stopped after asking the provider."""


class LoggingSmsSender:
    """An SmsSender that only logs: the demo works without an SMS provider."""

    def send(self, to: str, body: str) -> str:
        message_id = f"LOG-{uuid.uuid4()}"
        logger.info("SMS %s to %s: %s", message_id, to, body)
        return message_id


def segments(text: str) -> int:
    """How many SMS parts `text` takes: GSM-7 (extension characters count twice) when every
    character is in the GSM alphabet, else UCS-2 (any diacritic like ș or ț, any Cyrillic)."""
    try:
        length, single, part = len(text.encode("gsm03.38")), GSM_SINGLE, GSM_PART
    except UnicodeEncodeError:
        length, single, part = len(text.encode("utf-16-le")) // 2, UCS2_SINGLE, UCS2_PART
    return 1 if length <= single else math.ceil(length / part)


def gsm_fitted(text: str) -> str:
    """`text` in the GSM-7 alphabet when dropping diacritics gets it there (a Romanian name
    such as "Drumuri și infrastructură": one 160-character segment instead of 70-character
    UCS-2 ones); otherwise (Cyrillic, Korean) `text` as it is."""
    if _is_gsm(text):
        return text
    plain = "".join(c if _is_gsm(c) else _without_marks(c) for c in text)
    return plain if _is_gsm(plain) else text


def _without_marks(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def _is_gsm(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def queue_sms(
    session: Session,
    *,
    to: str,
    body: str,
    template: str,
    language: str,
    ticket_id: int | None,
    at: datetime,
) -> SmsOutbox | None:
    """Queue `body` for `to` with its "sms.send" job; None (nothing queued) when `to` opted out.
    The body is sent in GSM-7 when the language allows (`gsm_fitted`)."""
    if is_opted_out(session, to):
        return None
    body = gsm_fitted(body)
    message = SmsOutbox(
        to=to,
        body=body,
        template=template,
        language=language,
        status="queued",
        ticket_id=ticket_id,
        segments=segments(body),
        attempts=0,
        created_at=at,
    )
    session.add(message)
    session.flush()
    enqueue(session, "sms.send", {"outbox_id": message.id}, at=at)
    return message


def queue_sms_about(
    session: Session,
    ref: str | None,
    *,
    to: str,
    body: str,
    template: str,
    language: str,
    at: datetime,
) -> SmsOutbox | None:
    """`queue_sms`, linked to the ticket registration number `ref` names (if any)."""
    ticket = find_ticket(session, ref) if ref else None
    ticket_id = ticket.id if ticket else None
    return queue_sms(
        session, to=to, body=body, template=template, language=language, ticket_id=ticket_id,
        at=at,
    )  # fmt: skip


def send_queued(
    database: Database,
    outbox_id: int,
    sender: SmsSender,
    *,
    clock: Clock = utc_now,
) -> None:
    """Send outbox row `outbox_id` once (the "sms.send" job). A sender error puts the row
    back to `queued` and is raised again, so the job is retried."""
    with database.session() as session:
        message = session.get(SmsOutbox, outbox_id)
        if message is None:
            raise LookupError(f"no SMS {outbox_id} in the outbox")
        if message.status in ("sent", "failed"):
            return
        if message.status == "sending":
            raise SmsOutcomeUnknown(f"SMS {outbox_id} was being sent when its worker stopped")
        if is_opted_out(session, message.to):
            message.status, message.error = "failed", "the number opted out"
            return
        message.status = "sending"
        message.attempts += 1
        to, body = message.to, message.body
    try:
        provider_sid = sender.send(to, body)
    except SmsRejected as exc:
        _after_send(database, outbox_id, status="failed", error=str(exc))
        raise
    except Exception as exc:
        _after_send(database, outbox_id, status="queued", error=f"{type(exc).__name__}: {exc}")
        raise
    with database.session() as session:
        message = session.get_one(SmsOutbox, outbox_id)
        message.status, message.provider_sid, message.sent_at = "sent", provider_sid, clock()
        message.error = None


def opt_out(session: Session, number: str, at: datetime) -> None:
    upsert(session, SmsOptOut, {"number": number, "at": at}, key=["number"])


def opt_in(session: Session, number: str) -> None:
    session.execute(delete(SmsOptOut).where(SmsOptOut.number == number))


def is_opted_out(session: Session, number: str) -> bool:
    return session.scalar(select(SmsOptOut.number).where(SmsOptOut.number == number)) is not None


DELIVERY_ORDER = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}
"""Twilio's message statuses in the order they happen: a status only ever moves forward."""
OPTED_OUT_CODE = "21610"


def record_delivery(
    session: Session, message_sid: str, status: str, error_code: str | None, to: str, at: datetime
) -> bool:
    """Keep Twilio's delivery status of `message_sid` if it is further than the one known;
    a 21610 error (the number opted out at the carrier) puts the number on our STOP list too.
    False when the status was not news."""
    if status not in DELIVERY_ORDER:
        raise ValueError(f"unknown message status {status!r}")
    session.execute(
        insert_statement(session, SmsDelivery)
        .values(message_sid=message_sid, status=status, error_code=error_code, updated_at=at)
        .on_conflict_do_nothing(index_elements=[SmsDelivery.message_sid])
    )
    known = session.scalars(
        select(SmsDelivery).where(SmsDelivery.message_sid == message_sid).with_for_update()
    ).one()
    news = known.updated_at == at and known.status == status
    if DELIVERY_ORDER[status] > DELIVERY_ORDER[known.status]:
        known.status, known.error_code, known.updated_at = status, error_code, at
        news = True
    if error_code == OPTED_OUT_CODE and to:
        opt_out(session, to, at)
    return news


def _after_send(database: Database, outbox_id: int, *, status: str, error: str) -> None:
    with database.session() as session:
        message = session.get_one(SmsOutbox, outbox_id)
        message.status, message.error = status, error
