"""What a ticket's page shows of Open311: the client that filed it by POST, and its push to
the city's endpoint (state, the id there, the status read back)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.models import Open311Key, Open311Push, Open311Report


@dataclass(frozen=True)
class TicketOpen311:
    client: str | None
    push: Open311Push | None


def on_ticket(session: Session, ticket_id: int) -> TicketOpen311:
    client = session.scalar(
        select(Open311Key.name)
        .join(Open311Report, Open311Report.key_id == Open311Key.id)
        .where(Open311Report.ticket_id == ticket_id)
    )
    return TicketOpen311(client=client, push=session.get(Open311Push, ticket_id))
