"""Failed sign-ins counted in the database per key (`account:NAME`, `address:IP`), so every
`ivr serve` process sees the same counts. Flask-Limiter's storage (the `limits` package)
offers memory, Redis, Memcached, MongoDB and etcd but no SQL database; a table keeps the
deployment to the one PostgreSQL it already has."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ivr.storage.models import LoginThrottle
from ivr.storage.upsert import upsert


def account_key(username: str) -> str:
    return f"account:{username.strip().lower()}"


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


def locked_until(session: Session, keys: list[str], at: datetime) -> datetime | None:
    """The latest time until which any of `keys` is locked, or None when none is."""
    statement = select(func.max(LoginThrottle.locked_until)).where(
        LoginThrottle.key.in_(keys), LoginThrottle.locked_until > at
    )
    return session.scalar(statement)


def count_failure(
    session: Session, key: str, at: datetime, *, limit: int, window: timedelta, lockout: timedelta
) -> datetime | None:
    """Count one failed sign-in of `key`; returns the end of the lock it starts, if any.

    The increment is one INSERT … ON CONFLICT statement, so two processes never lose one."""
    upsert(
        session,
        LoginThrottle,
        {"key": key, "failures": 1, "window_start": at, "locked_until": None},
        key=["key"],
        update={"failures": LoginThrottle.failures + 1},
    )
    row = session.get(LoginThrottle, key, populate_existing=True)
    assert row is not None  # just upserted
    if at - row.window_start > window:
        row.failures, row.window_start = 1, at
    if row.failures < limit:
        return None
    row.failures, row.window_start, row.locked_until = 0, at, at + lockout
    return row.locked_until


def clear(session: Session, key: str) -> bool:
    """Forget the failures and any lock of `key`; True when there was something to forget."""
    cleared = session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
    return bool(cleared.rowcount)  # type: ignore[attr-defined]  # a CursorResult
