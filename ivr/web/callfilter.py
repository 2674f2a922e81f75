"""The call log's filters, read from the query string, as a WHERE clause; and its keyset
cursors on (started_at, id), newest first, older or newer than a page, so every page costs
the same at any depth.

A caller's number is compared in E.164 however it was typed (`0722 111 222`); a
registration number in any form `parse_ref` reads; words match the caller's words on the
line or the transcript of the call's recorded description, as substrings, through the
full-text index of ivr/storage/search.py (case and Latin diacritics aside).

The intent filter takes `node:intent` of the current flow and finds the calls whose stored
choices (`call_choices`, kept as calls end) left that node for the intent's target; only
intents whose target no other intent of their node shares can be told apart that way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select

from ivr.app_context import services
from ivr.phones import normalize_number
from ivr.storage.models import Call, CallChoice, Ticket
from ivr.storage.search import common, said
from ivr.storage.tickets import parse_ref
from ivr.web import params
from menus.schema import Flow

PAGE_SIZE = 50
PHONE_TYPED = r"[0-9+() .\-]*"
"""What a person types as a phone number: digits, +, spaces, brackets, dots and dashes."""


@dataclass(frozen=True)
class CallFilter:
    start: date | None = None
    end: date | None = None
    department: str = ""
    outcome: str = ""
    language: str = ""
    caller: str = ""
    has_ticket: str = ""
    """"yes", "no" or "" (either)."""
    intent: str = ""
    """`node:intent`, or "" (any)."""
    ref: str = ""
    """A registration number, as typed."""
    words: str = ""
    """Words of the transcript, as typed."""

    @classmethod
    def from_args(cls, args: Any, flow: Flow, outcomes: Collection[str]) -> CallFilter:
        """The filters of a query string; 400 for a value that is none of the choices."""
        return cls(
            start=params.day(args, "start"),
            end=params.day(args, "end"),
            department=params.choice(args, "department", flow.departments),
            outcome=params.choice(args, "outcome", outcomes),
            language=params.choice(args, "language", flow.languages),
            caller=params.text(args, "caller", pattern=PHONE_TYPED, limit=40),
            has_ticket=params.choice(args, "has_ticket", ("yes", "no")),
            intent=params.choice(args, "intent", intent_choices(flow)),
            ref=params.text(args, "ref", pattern=r"[0-9 ./\-]*", limit=20),
            words=params.text(args, "words", limit=100),
        )

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for the next page and the CSV link)."""
        values = {
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "department": self.department,
            "outcome": self.outcome,
            "language": self.language,
            "caller": self.caller,
            "has_ticket": self.has_ticket,
            "intent": self.intent,
            "ref": self.ref,
            "words": self.words,
        }
        return {key: value for key, value in values.items() if value}

    def apply(self, query: Select[Any], zone: ZoneInfo, flow: Flow) -> Select[Any]:
        """`query` over calls, narrowed to these filters (dates are local days in `zone`)."""
        country = flow.city.country
        if self.start:
            query = query.where(Call.started_at >= _local_midnight(self.start, zone))
        if self.end:
            query = query.where(
                Call.started_at < _local_midnight(self.end + timedelta(days=1), zone)
            )
        if self.department:
            query = query.where(Call.department == self.department)
        if self.outcome:
            query = query.where(Call.outcome == self.outcome)
        if self.language:
            query = query.where(Call.language == self.language)
        if self.caller:
            query = query.where(Call.caller == (normalize_number(self.caller, country) or ""))
        if self.has_ticket == "yes":
            query = query.where(Call.ticket_id.is_not(None))
        elif self.has_ticket == "no":
            query = query.where(Call.ticket_id.is_(None))
        if self.ref:
            printed = parse_ref(self.ref)
            query = query.where(
                Call.ticket_id.in_(select(Ticket.id).where(Ticket.ref == printed))
                if printed
                else false()
            )
        if self.words:
            with services().database.session(read_only=True) as session:
                walks = {word: common(session, word) for word in self.words.split()}
            for word, walk in walks.items():
                query = query.where(said(word, walk=walk))
        if self.intent:
            choice = intent_choices(flow).get(self.intent)
            if choice is None:
                return query.where(false())
            node, target = choice
            query = query.where(
                exists().where(
                    CallChoice.call_id == Call.id,
                    CallChoice.node == node,
                    CallChoice.target == target,
                )
            )
        return query


def intent_choices(flow: Flow) -> dict[str, tuple[str, str]]:
    """`node:intent` → (node, target) for each menu intent a stored choice tells apart."""
    found: dict[str, tuple[str, str]] = {}
    for name, node in flow.nodes.items():
        intents = getattr(node, "intents", None) or {}
        targets = [intent.goto for intent in intents.values()]
        for intent_name, intent in intents.items():
            if intent.goto is not None and targets.count(intent.goto) == 1:
                found[f"{name}:{intent_name}"] = (name, intent.goto)
    return found


def before(args: Any) -> ColumnElement[bool] | None:
    """Calls older than the `before` cursor `STARTED_AT_ISO|ID` (None for the first page)."""
    return _beyond(args, "before", operator.lt)


def after(args: Any) -> ColumnElement[bool] | None:
    """Calls newer than the `after` cursor (None without one)."""
    return _beyond(args, "after", operator.gt)


def _beyond(
    args: Any, name: str, compare: Callable[[Any, Any], ColumnElement[bool]]
) -> ColumnElement[bool] | None:
    """Calls on the `compare` side of cursor `name` in (start time, id) order."""
    found = params.cursor(args, name)
    if found is None:
        return None
    started, call_id = found
    return or_(
        compare(Call.started_at, started),
        and_(Call.started_at == started, compare(Call.id, call_id)),
    )


def cursor_of(call: Call) -> str:
    return f"{call.started_at.isoformat()}|{call.id}"


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)
