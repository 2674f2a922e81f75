"""SQLite writers of several processes: a write that finds the database locked for longer
than the busy timeout (a writer starved by 50 `ivr call`s) waits again, within a bound,
instead of failing with "database is locked"; a database already migrated is only read."""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import ivr.storage.db
from ivr.storage.db import Database
from ivr.storage.models import Job
from ivr.storage.queue import enqueue

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
WAIT = 30


def test_a_write_locked_past_the_busy_timeout_waits_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "civicline.db"
    Database(f"sqlite:///{path}").upgrade()
    monkeypatch.setattr(ivr.storage.db, "BUSY_TIMEOUT_MS", 1000)
    database = Database(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with database.session() as session:
                enqueue(session, "test.write", {}, at=T0)
        except BaseException as error:  # the assertion below reports it
            failures.append(error)

    writer = threading.Thread(target=write)
    with caplog.at_level(logging.WARNING, logger="ivr.storage.db"):
        writer.start()
        try:
            for _ in range(WAIT * 100):  # until the writer has met the timeout once
                if "waiting again (1 of 3)" in caplog.text or not writer.is_alive():
                    break
                threading.Event().wait(0.01)
        finally:
            other.execute("COMMIT")
            other.close()
        writer.join(WAIT)
    assert failures == []
    assert "the database stayed locked for 1.0 s; waiting again (1 of 3)" in caplog.text
    with database.session(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
    database.dispose()


def test_a_write_locked_beyond_the_bound_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "civicline.db"
    Database(f"sqlite:///{path}").upgrade()
    monkeypatch.setattr(ivr.storage.db, "BUSY_TIMEOUT_MS", 10)
    database = Database(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with (
            pytest.raises(OperationalError, match="database is locked"),
            database.session() as session,
        ):
            enqueue(session, "test.write", {}, at=T0)
    finally:
        other.execute("COMMIT")
        other.close()
    with database.session() as session:  # the process's write lock was given back
        enqueue(session, "test.write", {}, at=T0)
    database.dispose()


def test_an_upgraded_database_is_only_read_by_the_next_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "civicline.db"
    Database(f"sqlite:///{path}").upgrade()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer holds the lock: a reader is not held up
    try:
        database = Database(f"sqlite:///{path}")
        database.upgrade()
        database.dispose()
    finally:
        other.execute("COMMIT")
        other.close()
