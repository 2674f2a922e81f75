"""Announcements and closures as the supervisor site edits them and calls and routing read
them: the ones in force on a local date, as the engine's and routing's own values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.engine.announcements import Announcement as SaidAnnouncement
from ivr.engine.announcements import Placement
from ivr.storage.models import Announcement, OfficeClosure
from routing.closures import Closure


def add_announcement(
    session: Session,
    *,
    texts: Mapping[str, str],
    starts: date,
    ends: date,
    placement: Placement,
    actor: str,
    at: datetime,
) -> Announcement:
    if ends < starts:
        raise ValueError(f"an announcement ends ({ends}) before it starts ({starts})")
    row = Announcement(
        texts=dict(texts),
        starts=starts,
        ends=ends,
        placement=placement,
        heard=0,
        skipped=0,
        created_by=actor,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row


def add_closure(
    session: Session, *, day: date, department: str | None, reason: str, actor: str, at: datetime
) -> OfficeClosure:
    row = OfficeClosure(
        day=day, department=department, reason=reason, created_by=actor, created_at=at
    )
    session.add(row)
    session.flush()
    return row


def withdraw_announcement(
    session: Session, announcement_id: int, *, actor: str, at: datetime
) -> Announcement | None:
    """Stop an announcement before its end date (no-op if it was withdrawn already); None
    when there is no such announcement."""
    row = session.get(Announcement, announcement_id)
    if row is not None and row.withdrawn_at is None:
        row.withdrawn_at, row.withdrawn_by = at, actor
    return row


def remove_closure(session: Session, closure_id: int) -> OfficeClosure | None:
    """Open the day again (the slots it moved stay where they went); the removed closure,
    or None when there is no such closure."""
    row = session.get(OfficeClosure, closure_id)
    if row is not None:
        session.delete(row)
    return row


def announcements_on(session: Session, day: date) -> tuple[SaidAnnouncement, ...]:
    """The announcements in force on the local `day` and not withdrawn, oldest first."""
    rows = session.scalars(
        select(Announcement)
        .where(
            Announcement.starts <= day,
            Announcement.ends >= day,
            Announcement.withdrawn_at.is_(None),
        )
        .order_by(Announcement.id)
    )
    return tuple(
        SaidAnnouncement(id=row.id, texts=dict(row.texts), placement=row.placement)  # type: ignore[arg-type]  # the table's check constraint keeps it a Placement
        for row in rows
    )


def announcements_between(session: Session, first: date, last: date) -> list[Announcement]:
    """The announcements in force on some day from `first` to `last`, with their counts."""
    query = select(Announcement).where(Announcement.starts <= last, Announcement.ends >= first)
    return list(session.scalars(query.order_by(Announcement.starts, Announcement.id)))


def closures_from(session: Session, day: date) -> tuple[Closure, ...]:
    """The site's closures on the local `day` and after (routing looks ahead from a day)."""
    rows = session.scalars(
        select(OfficeClosure).where(OfficeClosure.day >= day).order_by(OfficeClosure.day)
    )
    return tuple(Closure(day=row.day, reason=row.reason, department=row.department) for row in rows)


def closures_at(session: Session, zone: ZoneInfo, at: datetime) -> tuple[Closure, ...]:
    """The site's closures from the local date of `at` on."""
    return closures_from(session, at.astimezone(zone).date())


def count_announcements(session: Session, ids: tuple[int, ...], *, skipped: bool) -> None:
    """One more call heard these announcements to the end, or skipped them."""
    column = Announcement.skipped if skipped else Announcement.heard
    session.execute(
        update(Announcement).where(Announcement.id.in_(ids)).values({column: column + 1})
    )
