"""The Database: connection settings, UTC round trips, transactions, queued writers."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from ivr.storage.db import Database
from ivr.storage.models import AuditEntry, Call, TicketCounter


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(database: Database) -> None:
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def other_writer_can_begin(database: Database) -> bool:
    """Whether a plain sqlite3 connection gets the write lock at once."""
    other = sqlite3.connect(database.url.database or "", timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_write_sessions_lock_at_once_and_read_only_sessions_never(database: Database) -> None:
    with database.session() as session:
        session.execute(text("SELECT 1"))
        assert not other_writer_can_begin(database)
    with database.session(read_only=True) as session:
        session.execute(text("SELECT last FROM ticket_counters"))
        assert other_writer_can_begin(database)
    assert other_writer_can_begin(database)


def test_dialect_names_the_backend(any_database: Database) -> None:
    assert any_database.dialect in ("sqlite", "postgresql")
    assert any_database.dialect == any_database.engine.dialect.name


def test_foreign_keys_are_enforced(any_database: Database) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(IntegrityError), any_database.session() as session:
        session.add(
            Call(id="c1", caller=None, channel="test", flow_version="missing", started_at=at)
        )


def test_instants_come_back_as_aware_utc(any_database: Database) -> None:
    bucharest = timezone(timedelta(hours=2))
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=bucharest)
    with any_database.session() as session:
        session.add(AuditEntry(at=at, actor="a", action="b", target="c", details={}))
    with any_database.session(read_only=True) as session:
        stored = session.scalars(select(AuditEntry.at)).one()
    assert stored == at
    assert stored.tzinfo == UTC
    assert stored.hour == 10


def test_naive_datetimes_are_refused(any_database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), any_database.session() as session:
        entry = AuditEntry(at=datetime(2026, 3, 1), actor="a", action="b", target="c", details={})
        session.add(entry)


def test_a_session_commits_on_success_and_rolls_back_on_error(any_database: Database) -> None:
    with any_database.session() as session:
        session.add(TicketCounter(year=2026, last=7))
    with pytest.raises(RuntimeError), any_database.session() as session:
        session.get_one(TicketCounter, 2026).last = 99
        raise RuntimeError("boom")
    with any_database.session(read_only=True) as session:
        assert session.get_one(TicketCounter, 2026).last == 7


def test_json_payloads_keep_dates_and_unicode(any_database: Database) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    details = {"when": at, "text": "sesizare: groapă în carosabil"}
    with any_database.session() as session:
        session.add(AuditEntry(at=at, actor="a", action="b", target="c", details=details))
    with any_database.session(read_only=True) as session:
        stored = session.scalars(select(AuditEntry.details)).one()
    assert stored == {"when": at.isoformat(), "text": "sesizare: groapă în carosabil"}


def test_concurrent_read_then_write_transactions_queue_instead_of_failing(
    database: Database,
) -> None:
    """Each thread reads a counter then writes it back +1: with deferred BEGIN two such
    transactions deadlock on SQLite ("database is locked"); with BEGIN IMMEDIATE they queue
    and no increment is lost."""
    with database.session() as session:
        session.add(TicketCounter(year=2026, last=0))
    threads, rounds = 6, 20
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def bump() -> None:
        start.wait()
        try:
            for _ in range(rounds):
                with database.session() as session:
                    last = session.execute(text("SELECT last FROM ticket_counters")).scalar_one()
                    session.execute(text("UPDATE ticket_counters SET last = :v"), {"v": last + 1})
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=bump) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with database.session(read_only=True) as session:
        assert session.get_one(TicketCounter, 2026).last == threads * rounds


def test_writers_of_one_process_wait_for_each_other_not_for_sqlite_busy_sleeps(
    database: Database,
) -> None:
    """A second writer thread of the process waits on the Database's lock (handed over when
    the first commits) instead of SQLite's busy handler: here with a 1 ms busy timeout it
    would fail with "database is locked" while the first writer holds the lock."""
    impatient = Database(database.url.render_as_string(hide_password=False))
    event.listen(
        impatient.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout = 1")
    )
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with impatient.session() as session:
                session.execute(text("UPDATE ticket_counters SET last = last + 1"))
        except BaseException as exc:
            errors.append(exc)

    with impatient.session() as session:
        session.add(TicketCounter(year=2026, last=0))
        session.flush()
        writer = threading.Thread(target=second_writer)
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive() and errors == []
    writer.join()
    impatient.dispose()
    assert errors == []
    with database.session(read_only=True) as session:
        assert session.get_one(TicketCounter, 2026).last == 1
