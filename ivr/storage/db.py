"""The database: one engine per process, sessions that commit on success, and migrations.

SQLite (the default) is opened in WAL mode with a busy timeout and foreign keys on every
connection. pysqlite's own transaction handling is switched off (SQLAlchemy's documented
recipe) so that SQLAlchemy emits BEGIN itself: `BEGIN IMMEDIATE` for a write session, which
takes the write lock at once, so concurrent writers queue on the busy timeout instead of
failing with "database is locked" when a read turns into a write; plain (deferred) `BEGIN`
for a read-only session, which never blocks a writer in WAL mode.

Within one process, SQLite writers also queue on a lock of the `Database`, taken just before
`BEGIN IMMEDIATE` and given back when the connection returns to the pool (after its commit
or rollback), so it spans what SQLite's write lock spans: SQLite's busy handler waits for
its lock by sleeping in growing steps (up to 100 ms each), and threads of one server writing
at once (many calls' events) would lose tens of milliseconds per write to those sleeps; the
lock hands the write over as soon as it is free. Other processes (the worker) still meet the
busy timeout, as does a thread that waited on the lock for as long; a BEGIN that meets it
is tried again, LOCKED_RETRIES times, so a write waits for at most 2 minutes before it fails.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

import migrations
from ivr.storage import search

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
LOCKED_RETRIES = 3
"""A write transaction that still finds SQLite locked after BUSY_TIMEOUT_MS (a writer
starved by many others: SQLite's busy handler is not fair) begins again, this many times:
a write waits at most (1 + LOCKED_RETRIES) × 30 s = 2 minutes for the lock, then raises."""
_BEGIN_OPTION = "civicline_sqlite_begin"
_HOLDS_WRITE_LOCK = "civicline_holds_write_lock"


class Database:
    """A database by SQLAlchemy URL: `sqlite:///path` or `postgresql+psycopg://...`."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.engine: Engine = create_engine(
            self.url,
            json_serializer=_json_dumps,
            pool_pre_ping=self.dialect == "postgresql",
        )
        self._write_lock = threading.Lock()
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _configure_sqlite_connection)
            event.listen(self.engine, "begin", self._begin_sqlite_transaction)
            event.listen(self.engine.pool, "checkin", self._end_sqlite_write)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._writer, "after_flush", search.keep_in_step)
        self._reader = sessionmaker(
            self.engine.execution_options(**{_BEGIN_OPTION: "BEGIN"}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.url.get_backend_name()

    @contextmanager
    def session(self, *, read_only: bool = False, durable: bool = True) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error.

        `read_only` sessions do not take SQLite's write lock; they must not write.
        A session that is not `durable` commits on PostgreSQL without waiting for its log to
        reach the disk (`synchronous_commit = off`, for this transaction only): for rows whose
        loss in a server crash costs nothing, so that they do not cost a disk flush each.
        """
        factory = self._reader if read_only else self._writer
        with factory.begin() as session:
            if not durable and self.dialect == "postgresql":
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            yield session

    def _begin_sqlite_transaction(self, connection: Connection) -> None:
        begin = connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN IMMEDIATE")
        if begin != "BEGIN" and not connection.info.get(_HOLDS_WRITE_LOCK):
            connection.info[_HOLDS_WRITE_LOCK] = self._write_lock.acquire(
                timeout=BUSY_TIMEOUT_MS / 1000
            )
        for attempt in range(1, LOCKED_RETRIES + 2):
            try:
                connection.exec_driver_sql(begin)
                return
            except OperationalError as error:
                if attempt > LOCKED_RETRIES or "database is locked" not in str(error.orig):
                    raise
                log.warning(
                    "the database stayed locked for %s s; waiting again (%s of %s)",
                    BUSY_TIMEOUT_MS / 1000,
                    attempt,
                    LOCKED_RETRIES,
                )

    def _end_sqlite_write(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if record.info.pop(_HOLDS_WRITE_LOCK, False):
            self._write_lock.release()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (`alembic upgrade head`); a database
        already there is only read, so processes starting at once do not queue for its
        write lock."""
        if self._at_head():
            return
        with self.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def _at_head(self) -> bool:
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        reader = self.engine.execution_options(**{_BEGIN_OPTION: "BEGIN"})
        with reader.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads

    def dispose(self) -> None:
        """Close the pooled connections (at shutdown, and in tests)."""
        self.engine.dispose()


def alembic_config() -> Config:
    """Alembic's configuration, programmatic: the migrations package is the script directory."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _json_dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
