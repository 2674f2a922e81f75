"""The database: one engine per process, sessions that commit on success, and migrations.

SQLite (the default) is opened in WAL mode with a busy timeout and foreign keys on every
connection. pysqlite's own transaction handling is switched off (SQLAlchemy's documented
recipe) so that SQLAlchemy emits BEGIN itself: `BEGIN IMMEDIATE` for a write session, which
takes the write lock at once, so concurrent writers queue on the busy timeout instead of
failing with "database is locked" when a read turns into a write; plain (deferred) `BEGIN`
for a read-only session, which never blocks a writer in WAL mode.

Within one process, SQLite write sessions also queue on a lock of the `Database`: SQLite's
busy handler waits for the write lock by sleeping in growing steps (up to 100 ms each), so
threads of one server writing at once (many calls' events) would lose tens of milliseconds
per write to those sleeps; the lock hands the write over as soon as it is free. Other
processes (the worker) still meet the busy timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

import migrations

BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "civicline_sqlite_begin"


class Database:
    """A database by SQLAlchemy URL: `sqlite:///path` or `postgresql+psycopg://...`."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.engine: Engine = create_engine(
            self.url,
            json_serializer=_json_dumps,
            pool_pre_ping=self.dialect == "postgresql",
        )
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _configure_sqlite_connection)
            event.listen(self.engine, "begin", _begin_sqlite_transaction)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(
            self.engine.execution_options(**{_BEGIN_OPTION: "BEGIN"}), expire_on_commit=False
        )
        self._write_lock: AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.url.get_backend_name()

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error.

        `read_only` sessions do not take SQLite's write lock; they must not write.
        """
        factory = self._reader if read_only else self._writer
        with nullcontext() if read_only else self._write_lock, factory.begin() as session:
            yield session

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (`alembic upgrade head`)."""
        with self.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

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


def _begin_sqlite_transaction(connection: Connection) -> None:
    connection.exec_driver_sql(
        connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN IMMEDIATE")
    )


def _json_dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
