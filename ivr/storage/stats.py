"""The dashboard's summary tables: counted as each call ends (in the transaction that ends
it) and as tickets close, read back by range. Nothing here scans call events of more than
the one call that just ended, and a read returns one row per day (or hour of day, node,
choice) whatever the number of calls: the dashboard's cost does not grow with them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ivr.calls.turns import turns
from ivr.storage.models import (
    Call,
    CallChoice,
    CallDayStats,
    CallEvent,
    CallHourOfDayStats,
    CallHourStats,
    ChoiceDayStats,
    NodeDayStats,
    TicketDayStats,
)
from ivr.storage.upsert import insert_statement

CLOSED_STATUSES = frozenset({"resolved", "closed", "rejected"})


def count_finished_call(
    session: Session, call: Call, events: Sequence[CallEvent], zone: ZoneInfo
) -> None:
    """Add a call that just ended to the summaries: its hour and local day, its turns, its
    ticket; and keep its menu choices for the call log's intent filter."""
    assert call.ended_at is not None and call.outcome is not None
    department = call.department or ""
    hour = call.started_at.replace(minute=0, second=0, microsecond=0)
    add_counts(
        session,
        CallHourStats,
        {"hour": hour, "outcome": call.outcome, "department": department},
        {"calls": 1},
    )
    local = call.started_at.astimezone(zone)
    day = local.date()
    add_counts(
        session,
        CallDayStats,
        {"day": day, "department": department, "outcome": call.outcome},
        {"calls": 1},
    )
    add_counts(
        session,
        CallHourOfDayStats,
        {"day": day, "department": department, "hour": local.hour},
        {"calls": 1},
    )
    nodes: Counter[tuple[str, str]] = Counter()
    choices: Counter[tuple[str, str]] = Counter()
    for turn in turns(events):
        nodes[(turn.node, "turns")] += 1
        if turn.result in ("no_match", "no_input"):
            nodes[(turn.node, turn.result)] += 1
        if turn.result == "choice" and turn.target is not None:
            choices[(turn.node, turn.target)] += 1
    where = {"day": day, "department": department}
    for node in {node for node, _ in nodes}:
        counts = {kind: nodes[(node, kind)] for kind in ("turns", "no_match", "no_input")}
        add_counts(session, NodeDayStats, {**where, "node": node}, counts)
    for (node, target), count in choices.items():
        add_counts(
            session, ChoiceDayStats, {**where, "node": node, "target": target}, {"count": count}
        )
        choice = {"call_id": call.id, "node": node, "target": target}
        session.execute(
            insert_statement(session, CallChoice)
            .values(**choice, started_at=call.started_at)
            .on_conflict_do_nothing(index_elements=list(choice))
        )
    if call.ticket_id is not None:
        count_tickets(session, day, department, opened=1)


def count_tickets(
    session: Session, day: date, department: str | None, *, opened: int = 0, closed: int = 0
) -> None:
    """Count tickets opened or closed on local `day` under their department."""
    add_counts(
        session,
        TicketDayStats,
        {"day": day, "department": department or ""},
        {"opened": opened, "closed": closed},
    )


def add_counts(
    session: Session, model: type, key: dict[str, object], counts: dict[str, int]
) -> None:
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
    days: dict[date, Counter[str]]
    """Local day → group (handled, transferred, abandoned) → calls."""
    hours: Counter[int]
    """Local hour of day (0–23) → calls."""
    nodes: list[tuple[str, int, int, int]]
    """(node, turns, no match, no input), most confusing first."""
    choices: list[tuple[str, str, int]]
    """(node, target, count), most frequent first."""
    tickets: dict[date, tuple[int, int]]
    """Local day → (opened, closed)."""


def summary(
    session: Session, first: date, last: date, departments: Iterable[str] | None
) -> Summary:
    """The summaries for the local days [first, last]; `departments` limits them (None is
    every department, and also counts calls of no department). Sums are taken by the
    database: what comes back is one row per day and group, hour, node, choice."""
    allowed = None if departments is None else sorted(departments)

    def ranged(query: Any, model: Any) -> Any:
        query = query.where(model.day >= first, model.day <= last)
        return query if allowed is None else query.where(model.department.in_(allowed))

    group = case(
        *((CallDayStats.outcome == o, g) for o, g in OUTCOME_GROUPS.items()), else_=HANDLED
    )
    days: dict[date, Counter[str]] = {}
    day_query = select(CallDayStats.day, group, func.sum(CallDayStats.calls))
    for day, name, calls in session.execute(
        ranged(day_query, CallDayStats).group_by(CallDayStats.day, group)
    ):
        days.setdefault(day, Counter())[name] += int(calls)
    hour_query = select(CallHourOfDayStats.hour, func.sum(CallHourOfDayStats.calls))
    hours = Counter(
        {
            int(hour): int(calls)
            for hour, calls in session.execute(
                ranged(hour_query, CallHourOfDayStats).group_by(CallHourOfDayStats.hour)
            )
        }
    )
    node_query = select(
        NodeDayStats.node,
        func.sum(NodeDayStats.turns),
        func.sum(NodeDayStats.no_match),
        func.sum(NodeDayStats.no_input),
    )
    nodes = sorted(
        (
            (n, int(t), int(m), int(i))
            for n, t, m, i in session.execute(
                ranged(node_query, NodeDayStats).group_by(NodeDayStats.node)
            )
        ),
        key=lambda row: (-(row[2] + row[3]) / max(row[1], 1), row[0]),
    )
    choice_query = select(
        ChoiceDayStats.node, ChoiceDayStats.target, func.sum(ChoiceDayStats.count)
    )
    choices = sorted(
        (
            (n, t, int(c))
            for n, t, c in session.execute(
                ranged(choice_query, ChoiceDayStats).group_by(
                    ChoiceDayStats.node, ChoiceDayStats.target
                )
            )
        ),
        key=lambda row: (-row[2], row[0], row[1]),
    )
    ticket_query = select(
        TicketDayStats.day, func.sum(TicketDayStats.opened), func.sum(TicketDayStats.closed)
    )
    tickets = {
        day: (int(opened), int(closed))
        for day, opened, closed in session.execute(
            ranged(ticket_query, TicketDayStats).group_by(TicketDayStats.day)
        )
    }
    return Summary(days, hours, nodes, choices, tickets)
