"""Shared database fixtures: SQLite files in tmp_path, and one real PostgreSQL server per
test session (Debian's binaries, started by the tests, on a free local port).

`sqlite_url`, `database` (an upgraded SQLite Database), `pg_url` (an empty PostgreSQL
database per test) and `any_database` (an upgraded Database on each dialect in turn);
`s3_server`, one SeaweedFS object store per session. When
the PostgreSQL binaries are missing the PostgreSQL tests fail: they never skip. Every run
fails when a test leaves a process running (`process_leaks`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import FAST_UNSAFE, PostgresMissing, PostgresServer, running_postgres
from s3server import S3Server, running_s3

from ivr.storage.db import Database

pytest_plugins = ["process_leaks"]
"""The run fails when a test leaves a process running (`tests/process_leaks.py`)."""


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        with running_postgres(FAST_UNSAFE) as server:
            yield server
    except (PostgresMissing, RuntimeError) as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One SeaweedFS S3 server for the run, with a bucket (tests/s3server.py)."""
    try:
        with running_s3() as server:
            yield server
    except (FileNotFoundError, RuntimeError) as error:
        pytest.fail(str(error), pytrace=False)


_database_names = itertools.count(1)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    return postgres_server.create_database(f"test_{os.getpid()}_{next(_database_names)}")


def upgraded(url: str) -> Iterator[Database]:
    """A Database at `url` brought to the newest schema, disposed of after the test."""
    db = Database(url)
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file (not yet created) in this test's tmp_path."""
    return f"sqlite:///{tmp_path / 'civicline.db'}"


@pytest.fixture
def database(sqlite_url: str) -> Iterator[Database]:
    """An upgraded Database on a SQLite file."""
    yield from upgraded(sqlite_url)


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    """An upgraded Database on the test PostgreSQL server."""
    yield from upgraded(pg_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each dialect in turn."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def any_database(any_url: str) -> Iterator[Database]:
    """An upgraded Database of each dialect in turn."""
    yield from upgraded(any_url)
