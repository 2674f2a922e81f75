"""A citizen's SMS conversation as the site shows it: what they sent us, what we sent them
(with the furthest delivery status Twilio reported), in time order. Read only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.storage.models import SmsDelivery, SmsInbound, SmsOutbox

LIMIT = 200


@dataclass(frozen=True)
class Message:
    at: datetime
    direction: str
    """`in` (the citizen wrote) or `out` (we wrote)."""
    body: str
    status: str
    """For `out`: queued, sending, sent or failed, then the delivery status when known."""


def conversation(
    session: Session, number: str | None, since: datetime, ticket_id: int | None = None
) -> list[Message]:
    """The SMS between the city and `number` from `since` on, and those about the ticket
    `ticket_id` whenever they were sent; at most LIMIT of each direction."""
    about = [SmsOutbox.ticket_id == ticket_id] if ticket_id is not None else []
    if number:
        about.append((SmsOutbox.to == number) & (SmsOutbox.created_at >= since))
    if not about:
        return []
    sent = list(
        session.scalars(select(SmsOutbox).where(or_(*about)).order_by(SmsOutbox.id).limit(LIMIT))
    )
    sids = [m.provider_sid for m in sent if m.provider_sid]
    delivered = dict(
        session.execute(
            select(SmsDelivery.message_sid, SmsDelivery.status).where(
                SmsDelivery.message_sid.in_(sids)
            )
        ).all()
    )
    messages = [
        Message(
            m.created_at,
            "out",
            m.body,
            ", ".join(filter(None, (m.status, delivered.get(m.provider_sid or "")))),
        )
        for m in sent
    ]
    if number:
        received = session.scalars(
            select(SmsInbound)
            .where(SmsInbound.sender == number, SmsInbound.received_at >= since)
            .order_by(SmsInbound.received_at)
            .limit(LIMIT)
        )
        messages += [Message(m.received_at, "in", m.body, "received") for m in received]
    return sorted(messages, key=lambda m: m.at)
