"""The nodes that carry calls' audio (`ivr sip`), kept in the database: each announces
itself when it starts and beats while it runs, so any process can tell the calls a dead
node has lost (`ivr.calls.stale`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.storage.models import Call, LineNode

NODE_TIMEOUT = timedelta(seconds=30)
"""A node not seen for this long is dead (it beats every BEAT_EVERY)."""
BEAT_EVERY = timedelta(seconds=5)


def announce(session: Session, name: str, at: datetime) -> None:
    """The node `name` (re)starts at `at`: calls it carried before are lost."""
    node = session.get(LineNode, name)
    if node is None:
        session.add(LineNode(name=name, started_at=at, seen_at=at))
    else:
        node.started_at, node.seen_at = at, at


def beat(session: Session, name: str, at: datetime) -> None:
    """The node `name` still runs."""
    node = session.get(LineNode, name)
    if node is not None:
        node.seen_at = max(node.seen_at, at)


def lost_calls(session: Session, now: datetime) -> list[str]:
    """The open calls whose node died: not seen for NODE_TIMEOUT, or started again since."""
    return list(
        session.scalars(
            select(Call.id)
            .join(LineNode, LineNode.name == Call.carried_by)
            .where(
                Call.ended_at.is_(None),
                Call.outcome.is_(None),
                or_(LineNode.seen_at < now - NODE_TIMEOUT, LineNode.started_at > Call.started_at),
            )
        )
    )
