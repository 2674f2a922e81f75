"""Officers who take callbacks: their department, callback capacity, whether they are active,
and their leave (DESIGN §4: edited on the supervisor site, read by callback booking).

Leave is kept as UTC instants [starts, ends); callers give local whole days and the zone, so
a leave from Monday to Friday covers Monday 00:00 to Saturday 00:00 local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.models import Officer, OfficerLeave


class BadLeave(ValueError):
    """A leave that ends before it starts."""


@dataclass(frozen=True)
class OfficerView:
    officer: Officer
    leaves: list[OfficerLeave]


def officers_with_leave(session: Session, since: datetime) -> list[OfficerView]:
    """Every officer by department and name, with the leave that has not ended by `since`."""
    officers = list(session.scalars(select(Officer).order_by(Officer.department, Officer.name)))
    leaves = session.scalars(
        select(OfficerLeave).where(OfficerLeave.ends > since).order_by(OfficerLeave.starts)
    )
    by_officer: dict[int, list[OfficerLeave]] = {}
    for leave in leaves:
        by_officer.setdefault(leave.officer_id, []).append(leave)
    return [OfficerView(officer, by_officer.get(officer.id, [])) for officer in officers]


def add_officer(
    session: Session,
    *,
    name: str,
    phone: str | None,
    department: str,
    capacity: int,
    email: str | None = None,
) -> Officer:
    officer = Officer(
        name=name,
        phone=phone,
        email=email,
        department=department,
        callback_capacity=capacity,
        active=True,
    )
    session.add(officer)
    session.flush()
    return officer


def add_leave(
    session: Session, officer: Officer, first: date, last: date, zone: ZoneInfo
) -> OfficerLeave:
    """Leave from local day `first` through local day `last`, both included."""
    if last < first:
        raise BadLeave(f"the leave ends ({last}) before it starts ({first})")
    leave = OfficerLeave(
        officer_id=officer.id,
        starts=datetime.combine(first, time(0), zone),
        ends=datetime.combine(last + timedelta(days=1), time(0), zone),
    )
    session.add(leave)
    session.flush()
    return leave


def local_days(leave: OfficerLeave, zone: ZoneInfo) -> tuple[date, date]:
    """The first and last local day a leave covers."""
    last_instant = leave.ends.astimezone(zone) - timedelta(microseconds=1)
    return leave.starts.astimezone(zone).date(), last_instant.date()
