"""A report POSTed by an Open311 client, filed as a call files one: the same registration
number sequence and PIN (`ivr.storage.tickets.create_ticket`), the category's deadline
escalation, the department's e-mail, the dashboard's count, and the SMS a caller gets when
a phone number was given (status changes on the site text it too). The PIN is returned
once, in the POST's answer.

A POST repeated with the same `attribute[external_id]` by the same client answers the
report it filed the first time (without its PIN), so a client that retries after losing
the answer files once. Names and e-mail addresses are not kept: nothing here needs them."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.email import notices
from ivr.engine.render import fill
from ivr.open311.services import PUBLISH
from ivr.phones import normalize_number
from ivr.storage import escalations, stats, tickets
from ivr.storage.audit import audit
from ivr.storage.models import Open311Key, Open311Report, Ticket
from ivr.storage.outbox import queue_sms
from menus.schema import Flow

MAX_DESCRIPTION = 4000


class BadReport(ValueError):
    """A POST the spec or the flow does not allow; the message says what to change."""


@dataclass(frozen=True)
class Report:
    """A POST's fields, checked."""

    service_code: str
    language: str
    description: str | None
    district: int | None
    address: str | None
    lat: float | None
    long: float | None
    phone: str | None
    publish: bool
    external_id: str | None


@dataclass(frozen=True)
class Filed:
    ref: str
    token: str
    pin: str | None
    """None when the report was filed by an earlier POST (its PIN was given then)."""


def parse_report(form: dict[str, str], flow: Flow, language: str) -> Report:
    """The POST's fields; BadReport names the first one that is wrong."""
    code = form.get("service_code", "").strip()
    if not code:
        raise BadReport("service_code is required (see services.xml)")
    if code not in flow.categories:
        raise BadReport(f"service_code {code!r} is not a service (see services.xml)")
    description = (form.get("description") or form.get("attribute[description]") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise BadReport(f"description is longer than {MAX_DESCRIPTION} characters")
    lat, long = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (lat is None) != (long is None):
        raise BadReport("lat and long go together")
    district = _district(form.get("attribute[district]", ""), flow.districts)
    address = form.get("address_string", "").strip() or form.get("address_id", "").strip()
    if lat is None and not address and district is None:
        raise BadReport("a location is required: lat and long, address_string, address_id "
                        "or attribute[district]")  # fmt: skip
    raw_phone = form.get("phone", "").strip()
    phone = normalize_number(raw_phone, flow.city.country) if raw_phone else None
    if raw_phone and phone is None:
        raise BadReport(f"phone is not a phone number of {flow.city.country}")
    publish = form.get(f"attribute[{PUBLISH}]", "false").strip().lower()
    if publish not in ("true", "false"):
        raise BadReport(f"attribute[{PUBLISH}] must be true or false")
    return Report(
        service_code=code,
        language=language,
        description=description or None,
        district=district,
        address=address or None,
        lat=lat,
        long=long,
        phone=phone,
        publish=publish == "true",
        external_id=form.get("attribute[external_id]", "").strip() or None,
    )


def _coordinate(form: dict[str, str], name: str, bound: float) -> float | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadReport(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise BadReport(f"{name} must be between -{bound:g} and {bound:g}")
    return value


def _district(text: str, districts: int) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdecimal() or not 1 <= int(text) <= districts:
        raise BadReport(f"attribute[district] must be a district from 1 to {districts}")
    return int(text)


def earlier(session: Session, key: Open311Key, report: Report) -> Filed | None:
    """The report this client filed before with the same external id, if any."""
    if report.external_id is None:
        return None
    found = session.execute(
        select(Ticket.ref, Open311Report.token)
        .join(Open311Report, Open311Report.ticket_id == Ticket.id)
        .where(Open311Report.key_id == key.id, Open311Report.external_id == report.external_id)
    ).first()
    return Filed(ref=found.ref, token=found.token, pin=None) if found else None


def file_report(
    session: Session, flow: Flow, key: Open311Key, report: Report, pin: tickets.NewPin,
    at: datetime,
) -> Filed:  # fmt: skip
    """File `report` as a ticket opened with `pin`, and text its number to the phone given."""
    category = flow.categories[report.service_code]
    zone = ZoneInfo(flow.city.timezone)
    ticket = tickets.create_ticket(
        session,
        pin=pin,
        kind="report",
        draft=False,
        caller=report.phone,
        language=report.language,
        department=category.department,
        category=report.service_code,
        district=report.district,
        recording_id=None,
        description=report.description,
        deadline_days=category.deadline_days,
        call_id=None,
        at=at,
        zone=zone,
    )
    token = secrets.token_urlsafe(16)
    session.add(
        Open311Report(
            ticket_id=ticket.id,
            key_id=key.id,
            token=token,
            external_id=report.external_id,
            address=report.address,
            lat=report.lat,
            long=report.long,
            publish_description=report.publish,
        )
    )
    escalations.schedule_deadline(session, flow, ticket, at)
    notices.tell_department(session, flow, ticket, "new", at)
    stats.count_tickets(session, at.astimezone(zone).date(), ticket.department, opened=1)
    if report.phone:
        names = {"ref": ticket.ref, "category": category.name[report.language]}
        queue_sms(
            session,
            to=report.phone,
            body=fill(flow.texts.sms_ticket[report.language], names),
            template="sms_ticket",
            language=report.language,
            ticket_id=ticket.id,
            at=at,
        )
    audit(
        session,
        actor=f"open311:{key.name}",
        action="open311.report",
        target=ticket.ref,
        details={"service_code": report.service_code},
        at=at,
    )
    return Filed(ref=ticket.ref, token=token, pin=pin.clear)
