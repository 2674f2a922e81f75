"""GeoReport service requests: tickets as the public sees them (`rows`), the GET
parameters checked into a query (`parse_query`), and nothing personal.

A request shows no phone number, PIN or recording. Its description is shown only when the
citizen agreed (`publish_description=true` in a POST); reports made by phone never asked,
so theirs stay private. `status_notes` is the flow's name of the detailed status, never an
officer's free text. Drafts and messages are not service requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.open311.services import department_name
from ivr.storage.models import Open311Report, Ticket
from ivr.storage.stats import CLOSED_STATUSES
from ivr.storage.tickets import parse_ref
from menus.schema import Flow

MAX_RANGE = timedelta(days=90)
MAX_ROWS = 1000
STATUSES = ("open", "closed")


class BadParameter(ValueError):
    """A GET parameter the spec does not allow; the message says which and why."""


@dataclass(frozen=True)
class Query:
    refs: list[str]
    codes: list[str]
    start: datetime
    end: datetime
    statuses: list[str]


def parse_query(args: dict[str, str], flow: Flow, now: datetime) -> Query:
    """The GET requests parameters; BadParameter names the first one that is wrong."""
    refs = [_ref(part) for part in _listed(args, "service_request_id")]
    codes = _listed(args, "service_code")
    for code in codes:
        if code not in flow.categories:
            raise BadParameter(f"service_code {code!r} is not a service (see services.xml)")
    statuses = _listed(args, "status")
    for status in statuses:
        if status not in STATUSES:
            raise BadParameter(f"status {status!r} must be open or closed")
    end = _when(args, "end_date") or now
    start = _when(args, "start_date") or end - MAX_RANGE
    if start > end:
        raise BadParameter("start_date is after end_date")
    if end - start > MAX_RANGE:
        raise BadParameter("start_date and end_date may not span more than 90 days")
    return Query(refs=refs, codes=codes, start=start, end=end, statuses=statuses)


def _listed(args: dict[str, str], name: str) -> list[str]:
    return [part.strip() for part in args.get(name, "").split(",") if part.strip()]


def _ref(text: str) -> str:
    ref = parse_ref(text)
    if ref is None:
        raise BadParameter(f"service_request_id {text!r} is not a registration number (26-000123)")
    return ref


def _when(args: dict[str, str], name: str) -> datetime | None:
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadParameter(
            f"{name} {text!r} is not a W3C date-time (2026-12-01T00:00:00Z)"
        ) from None
    if when.tzinfo is None:
        raise BadParameter(f"{name} {text!r} needs a time zone (Z or +02:00)")
    return when


def find_requests(session: Session, query: Query) -> list[tuple[Ticket, Open311Report | None]]:
    """The tickets `query` names, newest first, at most MAX_ROWS of them."""
    statement = (
        select(Ticket, Open311Report)
        .outerjoin(Open311Report, Open311Report.ticket_id == Ticket.id)
        .where(Ticket.kind == "report", Ticket.draft.is_(False))
    )
    if query.refs:  # the ids override every other parameter, as the spec says
        statement = statement.where(Ticket.ref.in_(query.refs))
    else:
        statement = statement.where(
            Ticket.created_at >= query.start, Ticket.created_at <= query.end
        )
        if query.codes:
            statement = statement.where(Ticket.category.in_(query.codes))
        if query.statuses == ["open"]:
            statement = statement.where(Ticket.status.not_in(CLOSED_STATUSES))
        elif query.statuses == ["closed"]:
            statement = statement.where(Ticket.status.in_(CLOSED_STATUSES))
    statement = statement.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_ROWS)
    return [(ticket, report) for ticket, report in session.execute(statement)]


def row(ticket: Ticket, report: Open311Report | None, flow: Flow, lang: str) -> dict[str, Any]:
    """One ticket as a GeoReport request, in `lang`, with nothing personal in it."""
    zone = ZoneInfo(flow.city.timezone)
    category = flow.categories.get(ticket.category or "")
    statuses = flow.texts.statuses.get(ticket.status, {})
    published = report is not None and report.publish_description
    expected = None
    if ticket.deadline is not None:
        expected = datetime.combine(ticket.deadline, time(23, 59, 59), zone).isoformat()
    return {
        "service_request_id": ticket.ref,
        "status": "closed" if ticket.status in CLOSED_STATUSES else "open",
        "status_notes": statuses.get(lang) or statuses.get(flow.default_language) or ticket.status,
        "service_name": category.name.get(lang) if category else None,
        "service_code": ticket.category,
        "description": ticket.description if published else None,
        "agency_responsible": department_name(flow, ticket.department, lang),
        "service_notice": None,
        "requested_datetime": _w3c(ticket.created_at, zone),
        "updated_datetime": _w3c(ticket.updated_at, zone),
        "expected_datetime": expected,
        "address": report.address if report else None,
        "address_id": None,
        "zipcode": None,
        "lat": report.lat if report else None,
        "long": report.long if report else None,
        "media_url": None,
        "district": ticket.district,
        "interface_used": "open311" if report else "phone",
    }


def _w3c(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).replace(microsecond=0).isoformat()
