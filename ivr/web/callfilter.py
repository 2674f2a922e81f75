"""The call log's filters, read from the query string, as a WHERE clause; and its keyset
cursor on (started_at, id), newest first, so every page costs the same at any depth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, or_

from ivr.phones import normalize_number
from ivr.storage.models import Call

PAGE_SIZE = 50


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

    @classmethod
    def from_args(cls, args: Any) -> CallFilter:
        return cls(
            start=_date(args.get("start")),
            end=_date(args.get("end")),
            department=args.get("department", "").strip(),
            outcome=args.get("outcome", "").strip(),
            language=args.get("language", "").strip(),
            caller=args.get("caller", "").strip(),
            has_ticket=args.get("has_ticket", "").strip(),
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
        }
        return {key: value for key, value in values.items() if value}

    def apply(self, query: Select[Any], zone: ZoneInfo, country: str) -> Select[Any]:
        """`query` over calls, narrowed to these filters (dates are local days in `zone`)."""
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
        return query


def before(cursor: str | None) -> ColumnElement[bool] | None:
    """Calls older than the cursor `STARTED_AT_ISO|ID` (None for the first page)."""
    if not cursor or "|" not in cursor:
        return None
    stamp, call_id = cursor.split("|", 1)
    try:
        started = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return or_(Call.started_at < started, and_(Call.started_at == started, Call.id < call_id))


def cursor_of(call: Call) -> str:
    return f"{call.started_at.isoformat()}|{call.id}"


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)
