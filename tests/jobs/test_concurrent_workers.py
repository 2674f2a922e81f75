"""Two workers on one database, in threads (separate engines) and in processes, never run
the same job: each run inserts the job's number under a unique constraint."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from ivr.jobs import Worker, enqueue
from ivr.storage.db import Database
from ivr.storage.models import Job

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
JOBS = 60

test_tables = MetaData()
executions = Table(
    "test_executions",
    test_tables,
    Column("n", Integer, primary_key=True),
    Column("worker", String, nullable=False),
)


def prepare(url: str) -> Database:
    database = Database(url)
    database.upgrade()
    test_tables.create_all(database.engine)
    with database.session() as session:
        for n in range(JOBS):
            enqueue(session, "test.execute", {"n": n}, at=T0)
    return database


def work(url: str, worker_id: str, start: Any) -> None:
    """One worker with its own engine: waits for the other, then runs jobs until none is due."""
    database = Database(url)

    def execute(payload: dict[str, Any]) -> None:
        with database.session() as session:
            session.execute(insert(executions).values(n=payload["n"], worker=worker_id))

    worker = Worker(database, {"test.execute": execute}, worker_id=worker_id, clock=lambda: T0)
    try:
        start.wait()
        while worker.run_once():
            pass
    finally:
        database.dispose()


def assert_each_job_ran_once(database: Database) -> None:
    with database.session(read_only=True) as session:
        runs = session.scalar(select(func.count()).select_from(executions))
        jobs = session.execute(select(Job.status, Job.attempts)).all()
    assert runs == JOBS
    assert [tuple(row) for row in jobs] == [("done", 1)] * JOBS


def test_two_worker_threads_never_run_the_same_job(any_url: str) -> None:
    database = prepare(any_url)
    start = threading.Barrier(2)
    threads = [threading.Thread(target=work, args=(any_url, f"t{i}", start)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert_each_job_ran_once(database)
    database.dispose()


def test_two_worker_processes_never_run_the_same_job(any_url: str) -> None:
    database = prepare(any_url)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    processes = [context.Process(target=work, args=(any_url, f"p{i}", start)) for i in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0]
    assert_each_job_ran_once(database)
    database.dispose()
