"""Server-side sessions of the supervisor site: a signed-in browser holds a random token,
the database holds its SHA-256 and whose it is. Deleting rows ends sessions at once, in
every process: logout, a password change, a disabled account, "sign out everywhere"."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ivr.storage.models import SiteSession

TOUCH_EVERY = timedelta(minutes=1)
"""How stale `seen_at` may get before a request writes it again (not a write per request)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, at: datetime, address: str | None) -> str:
    """A new session of `user_id`; returns the token for the cookie (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    session.add(
        SiteSession(id=_digest(token), user_id=user_id, created_at=at, seen_at=at, address=address)
    )
    return token


def find_session(
    session: Session, token: str, at: datetime, idle: timedelta, lifetime: timedelta
) -> SiteSession | None:
    """The live session of `token`, or None when there is none or it has expired."""
    found = session.get(SiteSession, _digest(token))
    if found is None or at - found.seen_at > idle or at - found.created_at > lifetime:
        return None
    return found


def touch(session: Session, token: str, at: datetime) -> None:
    """Note a request of this session (the idle timeout counts from here)."""
    found = session.get(SiteSession, _digest(token))
    if found is not None:
        found.seen_at = at


def end_session(session: Session, token: str) -> None:
    session.execute(delete(SiteSession).where(SiteSession.id == _digest(token)))


def end_sessions_of(session: Session, user_id: int) -> int:
    """End every session of `user_id`; returns how many there were."""
    ended = session.execute(delete(SiteSession).where(SiteSession.user_id == user_id))
    return int(ended.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult


def session_counts(session: Session) -> dict[int, int]:
    """User id → sessions open (expired rows included until they are swept)."""
    statement = select(SiteSession.user_id, func.count()).group_by(SiteSession.user_id)
    return {user_id: count for user_id, count in session.execute(statement)}


def sweep_sessions(session: Session, at: datetime, idle: timedelta, lifetime: timedelta) -> int:
    """Delete expired sessions; returns how many."""
    expired = session.execute(
        delete(SiteSession).where(
            (SiteSession.seen_at < at - idle) | (SiteSession.created_at < at - lifetime)
        )
    )
    return int(expired.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult
