"""Everything held about one phone number, found table by table.

The rows that belong to a number are found by rule: its calls (by caller ID) and whatever
hangs off them (events, recordings, Twilio's call records), its tickets (by caller ID, or
filed in one of its calls) and what hangs off them (notes, status history, SMS, callbacks,
PIN look-ups, recordings), its callbacks' calls and survey scores, its appointments at a
counter (by caller ID, or booked in one of its calls), its SMS (sent and received), opt-out
and remembered language.
A table no rule names is still searched: every text and JSON column of every table is
looked through for the number (`Subject.national`), so data added by a later feature is
never missed by an export or left behind by an erasure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, Table, Text, cast, false, or_, select
from sqlalchemy.orm import Session

from ivr.privacy.subject import Subject
from ivr.storage.models.base import Base

NOT_PERSONAL = frozenset({"flow_versions", "alembic_version"})
"""Tables that hold no caller's data (the flow's source names only the city's numbers)."""


@dataclass
class Holdings:
    subject: Subject
    call_ids: list[str]
    ticket_ids: list[int]
    callback_ids: list[int] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Table name → the rows held about the number (by rule or because they mention it)."""

    @property
    def open_tickets(self) -> list[str]:
        return [
            row["ref"]
            for row in self.rows.get("tickets", [])
            if row["status"] not in CLOSED_STATUSES and not row["draft"]
        ]

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in sorted(self.rows.items()) if rows}


CLOSED_STATUSES = frozenset({"resolved", "closed", "rejected"})
Rule = Callable[[Table, Holdings], ColumnElement[bool]]


def _in(column: str, values: Callable[[Holdings], list[Any]]) -> Rule:
    return lambda table, held: table.c[column].in_(values(held)) if values(held) else false()


def _number(column: str) -> Rule:
    return lambda table, held: table.c[column] == held.subject.e164


def _calls(held: Holdings) -> list[str]:
    return held.call_ids


def _tickets(held: Holdings) -> list[int]:
    return held.ticket_ids


def _callbacks(held: Holdings) -> list[int]:
    return held.callback_ids


RULES: dict[str, list[Rule]] = {
    "calls": [_in("id", _calls)],
    "call_events": [_in("call_id", _calls)],
    "tickets": [_in("id", _tickets)],
    "ticket_status_changes": [_in("ticket_id", _tickets)],
    "ticket_notes": [_in("ticket_id", _tickets)],
    "callbacks": [_number("caller"), _in("ticket_id", _tickets), _in("call_id", _calls)],
    "appointments": [_number("caller"), _in("call_id", _calls)],
    "sms_outbox": [_number("to"), _in("ticket_id", _tickets)],
    "sms_inbound": [_number("sender")],
    "sms_opt_outs": [_number("number")],
    "caller_preferences": [_number("number")],
    "pin_attempts": [_number("caller"), _in("ticket_id", _tickets)],
    "recordings": [_in("call_id", _calls), _in("ticket_id", _tickets)],
    "callback_attempts": [_number("to"), _in("callback_id", _callbacks)],
    "survey_responses": [_in("call_id", _calls), _in("callback_id", _callbacks)],
}
CALL_LINKS = ("call_id", "call_sid")
"""Columns that tie a row of any other table to a call (Twilio's records, later features)."""


def find(session: Session, subject: Subject) -> Holdings:
    """What the database holds about `subject`, every table looked through."""
    calls, tickets = _table("calls"), _table("tickets")
    call_ids = list(session.scalars(select(calls.c.id).where(calls.c.caller == subject.e164)))
    ticket_filter = [tickets.c.caller == subject.e164]
    if call_ids:
        ticket_filter.append(tickets.c.call_id.in_(call_ids))
    ticket_ids = list(session.scalars(select(tickets.c.id).where(or_(*ticket_filter))))
    ticket_calls = select(tickets.c.call_id).where(
        tickets.c.id.in_(ticket_ids), tickets.c.call_id.is_not(None)
    )
    call_ids = sorted(set(call_ids) | set(session.scalars(ticket_calls)))
    held = Holdings(subject, call_ids, ticket_ids)
    callbacks = _table("callbacks")
    held.callback_ids = list(session.scalars(select(callbacks.c.id).where(where(callbacks, held))))
    for table in personal_tables():
        held.rows[table.name] = [_plain(row) for row in rows_of(session, table, held)]
    return held


def rows_of(session: Session, table: Table, held: Holdings) -> list[dict[str, Any]]:
    """The rows of `table` held about the number, as stored."""
    return [
        dict(row) for row in session.execute(select(table).where(where(table, held))).mappings()
    ]


def personal_tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_PERSONAL]


def where(table: Table, held: Holdings) -> ColumnElement[bool]:
    """The rows of `table` that belong to the number or mention it."""
    clauses = [rule(table, held) for rule in RULES.get(table.name, [])]
    if table.name not in RULES:
        clauses += [_in(c, _calls)(table, held) for c in CALL_LINKS if c in table.c]
    clauses += [mentions(table, column, held.subject) for column in text_columns(table)]
    return or_(*clauses) if clauses else false()


def text_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if isinstance(c.type, String | Text | JSON)]


def mentions(table: Table, column: str, subject: Subject) -> ColumnElement[bool]:
    """The column's text (a JSON document as its text) contains the number."""
    value = table.c[column]
    text = cast(value, Text) if isinstance(value.type, JSON) else value
    return text.contains(subject.national, autoescape=True)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON can hold it."""
    return {
        key: value.isoformat() if isinstance(value, datetime | date) else value
        for key, value in row.items()
    }
