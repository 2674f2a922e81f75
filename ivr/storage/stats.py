"""The dashboard's summary tables: counted as each call ends (in the transaction that ends
it) and as tickets close, read back by range. Nothing here scans call events of more than
the one call that just ended."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ivr.calls.turns import turns
from ivr.storage.models import (
    Call,
    CallChoice,
    CallEvent,
    CallHourStats,
    ChoiceDayStats,
    NodeDayStats,
    TicketDayStats,
)
from ivr.storage.upsert import insert_statement

CLOSED_STATUSES = frozenset({"resolved", "closed", "rejected"})


def count_finished_call(session: Session, call: Call, events: Sequence[CallEvent]) -> None:
    """Add a call that just ended to the summaries: its hour, its turns, its ticket; and keep
    its menu choices for the call log's intent filter."""
    assert call.ended_at is not None and call.outcome is not None
    hour = call.started_at.replace(minute=0, second=0, microsecond=0)
    _add(
        session,
        CallHourStats,
        {"hour": hour, "outcome": call.outcome, "department": call.department or ""},
        {"calls": 1},
    )
    day = call.started_at.date()
    nodes: Counter[tuple[str, str]] = Counter()
    choices: Counter[tuple[str, str]] = Counter()
    for turn in turns(events):
        nodes[(turn.node, "turns")] += 1
        if turn.result in ("no_match", "no_input"):
            nodes[(turn.node, turn.result)] += 1
        if turn.result == "choice" and turn.target is not None:
            choices[(turn.node, turn.target)] += 1
    for node in {node for node, _ in nodes}:
        counts = {kind: nodes[(node, kind)] for kind in ("turns", "no_match", "no_input")}
        _add(session, NodeDayStats, {"day": day, "node": node}, counts)
    for (node, target), count in choices.items():
        _add(
            session, ChoiceDayStats, {"day": day, "node": node, "target": target}, {"count": count}
        )
        choice = {"call_id": call.id, "node": node, "target": target}
        session.execute(
            insert_statement(session, CallChoice)
            .values(**choice, started_at=call.started_at)
            .on_conflict_do_nothing(index_elements=list(choice))
        )
    if call.ticket_id is not None:
        count_tickets(session, day, opened=1)


def count_tickets(session: Session, day: date, *, opened: int = 0, closed: int = 0) -> None:
    _add(session, TicketDayStats, {"day": day}, {"opened": opened, "closed": closed})


def _add(session: Session, model: type, key: dict[str, object], counts: dict[str, int]) -> None:
    """Add `counts` to the row under `key`, creating it (one statement, no race)."""
    table = model.__table__  # type: ignore[attr-defined]  # every model has one
    statement = insert_statement(session, model).values(**key, **counts)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in counts},
    )
    session.execute(statement)


OUTCOME_GROUPS = {
    "transferred": "transferred",
    "abandoned": "abandoned",
    "failed": "abandoned",
    "swept": "abandoned",  # its process died mid-call (ivr.calls.stale)
}
"""Outcome → the dashboard's group; every other outcome was handled by the IVR."""
HANDLED = "handled"


@dataclass(frozen=True)
class Summary:
    hours: dict[datetime, Counter[str]]
    """UTC hour → group (handled, transferred, abandoned) → calls."""
    nodes: list[tuple[str, int, int, int]]
    """(node, turns, no match, no input), most confusing first."""
    choices: list[tuple[str, str, int]]
    """(node, target, count), most frequent first."""
    tickets: dict[date, tuple[int, int]]
    """UTC day → (opened, closed)."""


def summary(
    session: Session, start: datetime, end: datetime, departments: Iterable[str] | None
) -> Summary:
    """The summaries for calls started in [start, end); `departments` limits the calls (None
    is every department). Sums are taken by the database: what comes back is one row per
    hour and group, per node, per choice and per day, however many calls there were."""
    group = case(
        *((CallHourStats.outcome == o, g) for o, g in OUTCOME_GROUPS.items()), else_=HANDLED
    )
    hour_query = (
        select(CallHourStats.hour, group, func.sum(CallHourStats.calls))
        .where(CallHourStats.hour >= start, CallHourStats.hour < end)
        .group_by(CallHourStats.hour, group)
    )
    if departments is not None:
        hour_query = hour_query.where(CallHourStats.department.in_(list(departments)))
    hours: dict[datetime, Counter[str]] = {}
    for hour, name, calls in session.execute(hour_query):
        hours.setdefault(hour, Counter())[name] += int(calls)
    first, last = start.date(), end.date()
    node_rows = session.execute(
        select(
            NodeDayStats.node,
            func.sum(NodeDayStats.turns),
            func.sum(NodeDayStats.no_match),
            func.sum(NodeDayStats.no_input),
        )
        .where(NodeDayStats.day >= first, NodeDayStats.day <= last)
        .group_by(NodeDayStats.node)
    )
    nodes = sorted(
        ((n, int(t), int(m), int(i)) for n, t, m, i in node_rows),
        key=lambda row: -(row[2] + row[3]) / max(row[1], 1),
    )
    choice_rows = session.execute(
        select(ChoiceDayStats.node, ChoiceDayStats.target, func.sum(ChoiceDayStats.count))
        .where(ChoiceDayStats.day >= first, ChoiceDayStats.day <= last)
        .group_by(ChoiceDayStats.node, ChoiceDayStats.target)
    )
    choices = sorted(((n, t, int(c)) for n, t, c in choice_rows), key=lambda row: -row[2])
    ticket_rows = session.execute(
        select(TicketDayStats.day, TicketDayStats.opened, TicketDayStats.closed).where(
            TicketDayStats.day >= first, TicketDayStats.day <= last
        )
    )
    tickets = {day: (opened, closed) for day, opened, closed in ticket_rows}
    return Summary(hours, nodes, choices, tickets)
