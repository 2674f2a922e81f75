"""Rate limits of the Open311 API: requests per minute per API key and per client address,
counted in the database (one upsert per request), so every `ivr serve` process shares the
counts, as sign-in failures are (`ivr.storage.throttle`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ivr.storage.models import Open311Hit
from ivr.storage.upsert import insert_statement

WINDOW = timedelta(minutes=1)


def over_limit(session: Session, key: str, limit: int, at: datetime) -> bool:
    """Count one request of `key` in its minute; True when it is past `limit`."""
    start = at.replace(second=0, microsecond=0)
    statement = (
        insert_statement(session, Open311Hit)
        .values(key=key, window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=[Open311Hit.key, Open311Hit.window_start],
            set_={"count": Open311Hit.count + 1},
        )
        .returning(Open311Hit.count)
    )
    count = int(session.execute(statement).scalar_one())
    if count == 1:  # a key's first request of a minute clears every key's older minutes
        session.execute(delete(Open311Hit).where(Open311Hit.window_start < start - WINDOW))
    return count > limit


def retry_after(at: datetime) -> int:
    """Seconds until the next minute's window opens."""
    return 60 - at.second
