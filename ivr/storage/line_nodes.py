"""The nodes that carry calls' audio, kept in the database: `ivr sip` nodes and the workers of
`ivr serve` (the Media Streams they hold). Each announces itself when it starts and beats
while it runs (`ivr.calls.heartbeat`), so any process can tell the calls a dead node has
lost (`ivr.calls.stale`).

A call is carried (`calls.carried_by`) by its SIP node for its whole life, and by a serve
node while a stream of the call is open there. A call whose node died is lost at once,
except a Twilio call that Twilio may still take on: when a stream breaks, Twilio asks the
`<Connect>`'s action on another node, which resumes the call (`webhooks.voice`). Only a
final status callback (completed, busy, ...) says Twilio will not: the caller is gone.
So a Twilio call is lost when its stream's node is dead and Twilio has reported its end;
until then it is left to `/twilio/next`, or, when neither comes, to the stale sweep.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from ivr.storage.models import Call, LineNode, TwilioCallStatus
from ivr.storage.twilio import FINAL_STATUSES

NODE_TIMEOUT = timedelta(seconds=30)
"""A node not seen for this long is dead (it beats every BEAT_EVERY)."""
BEAT_EVERY = timedelta(seconds=5)
FORGOTTEN_AFTER = timedelta(days=1)
"""A dead node carrying no open call is forgotten this long after its last beat (each life of
a serve worker is a node of its own)."""
SERVE_PREFIX = "serve:"
"""Serve nodes are named per process (`ivr.calls.heartbeat.serve_node_name`): a restart is
a new node, so one started after a call began may well carry it (its stream moved there)."""


def announce(session: Session, name: str, at: datetime) -> None:
    """The node `name` (re)starts at `at`: calls it carried before are lost. Nodes long dead
    that carry no open call are forgotten."""
    carrying = exists().where(Call.carried_by == LineNode.name, Call.ended_at.is_(None))
    session.execute(
        delete(LineNode)
        .where(LineNode.seen_at < at - FORGOTTEN_AFTER, ~carrying)
        .execution_options(synchronize_session=False)
    )
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


def lost_calls(session: Session, now: datetime) -> list[tuple[str, bool]]:
    """The open calls whose node died (not seen for NODE_TIMEOUT, or a SIP node started
    again since the call began), but not a Twilio call Twilio may still resume: (call id,
    whether the call dropped under its caller rather than the caller hanging up at Twilio)."""
    ended_at_twilio = exists().where(
        TwilioCallStatus.call_sid == Call.id, TwilioCallStatus.status.in_(FINAL_STATUSES)
    )
    rows = session.execute(
        select(Call.id, Call.channel)
        .join(LineNode, LineNode.name == Call.carried_by)
        .where(
            Call.ended_at.is_(None),
            Call.outcome.is_(None),
            or_(
                LineNode.seen_at < now - NODE_TIMEOUT,
                and_(
                    LineNode.started_at > Call.started_at,
                    LineNode.name.not_like(f"{SERVE_PREFIX}%"),
                ),
            ),
            or_(Call.channel != "twilio", ended_at_twilio),
        )
    )
    return [(call_id, channel != "twilio") for call_id, channel in rows]
