"""Server-side sessions and sign-in throttles on SQLite and PostgreSQL: failures counted by
one upsert (sessions counting at once lose none), a lock at the limit, a
window that starts again, sessions found only by their token and ended per user."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from ivr.storage import sessions, throttle
from ivr.storage.db import Database
from ivr.storage.directory import add_user
from ivr.storage.models import LoginThrottle

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
WINDOW, LOCKOUT = timedelta(minutes=15), timedelta(minutes=15)


def fail(database: Database, at: datetime = AT, limit: int = 5) -> datetime | None:
    with database.session() as session:
        return throttle.count_failure(
            session, "account:ana", at, limit=limit, window=WINDOW, lockout=LOCKOUT
        )


def test_the_fifth_failure_locks_until_the_lockout_ends(any_database: Database) -> None:
    assert [fail(any_database) for _ in range(4)] == [None] * 4
    assert fail(any_database) == AT + LOCKOUT
    with any_database.session(read_only=True) as session:
        keys = ["account:ana", "address:10.0.0.1"]
        assert throttle.locked_until(session, keys, AT + timedelta(minutes=14)) == AT + LOCKOUT
        assert throttle.locked_until(session, keys, AT + LOCKOUT) is None


def test_failures_outside_the_window_start_a_new_count(any_database: Database) -> None:
    for _ in range(4):
        fail(any_database)
    assert fail(any_database, AT + WINDOW + timedelta(seconds=1)) is None
    with any_database.session(read_only=True) as session:
        assert session.get(LoginThrottle, "account:ana").failures == 1


def test_failures_counted_at_once_are_all_counted(any_database: Database) -> None:
    threads = [threading.Thread(target=fail, args=(any_database, AT, 100)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with any_database.session(read_only=True) as session:
        assert session.get(LoginThrottle, "account:ana").failures == 8


def test_sessions_are_found_by_token_and_ended_per_user(any_database: Database) -> None:
    idle, lifetime = timedelta(minutes=30), timedelta(hours=12)
    with any_database.session() as session:
        ana = add_user(session, "ana", "correct horse battery", "supervisor", at=AT)
        bob = add_user(session, "bob", "correct horse battery", "officer", at=AT)
        tokens = [sessions.start_session(session, ana.id, AT, None) for _ in range(2)]
        other = sessions.start_session(session, bob.id, AT, "10.0.0.1")
    with any_database.session() as session:
        assert sessions.find_session(session, tokens[0], AT, idle, lifetime).user_id == ana.id
        assert sessions.find_session(session, "forged", AT, idle, lifetime) is None
        later = AT + timedelta(minutes=31)
        assert sessions.find_session(session, tokens[0], later, idle, lifetime) is None
        assert sessions.end_sessions_of(session, ana.id) == 2
        assert sessions.find_session(session, other, AT, idle, lifetime) is not None
        assert sessions.session_counts(session) == {bob.id: 1}
