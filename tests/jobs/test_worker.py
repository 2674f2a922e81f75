"""The worker: runs due jobs once, retries with backoff, gives up, takes over lost leases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hand_clock import Clock
from sqlalchemy import select

from ivr.jobs import PermanentJobError, Worker, enqueue, job_counts
from ivr.storage import queue
from ivr.storage.db import Database
from ivr.storage.models import Job

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def add_job(
    database: Database,
    kind: str = "test.record",
    payload: dict[str, Any] | None = None,
    **options: Any,
) -> int:
    with database.session() as session:
        return enqueue(session, kind, payload or {}, at=T0, **options).id


def job(database: Database, job_id: int) -> Job:
    with database.session(read_only=True) as session:
        return session.get_one(Job, job_id)


def test_a_due_job_runs_once_and_is_done(any_database: Database) -> None:
    seen: list[dict[str, Any]] = []
    job_id = add_job(any_database, payload={"n": 1})
    worker = Worker(any_database, {"test.record": seen.append}, worker_id="w1", clock=Clock(T0))
    assert worker.run_once() is True
    assert worker.run_once() is False
    assert seen == [{"n": 1}]
    done = job(any_database, job_id)
    assert (done.status, done.attempts, done.finished_at, done.locked_by) == ("done", 1, T0, None)


def test_a_job_waits_for_its_run_after(any_database: Database) -> None:
    seen: list[dict[str, Any]] = []
    add_job(any_database, run_after=T0 + timedelta(minutes=5))
    clock = Clock(T0 + timedelta(minutes=4))
    worker = Worker(any_database, {"test.record": seen.append}, worker_id="w1", clock=clock)
    assert worker.run_once() is False
    clock.now = T0 + timedelta(minutes=5)
    assert worker.run_once() is True
    assert len(seen) == 1


def test_jobs_run_in_the_order_they_are_due(any_database: Database) -> None:
    seen: list[dict[str, Any]] = []
    add_job(any_database, payload={"n": 2}, run_after=T0 + timedelta(seconds=2))
    add_job(any_database, payload={"n": 1}, run_after=T0 + timedelta(seconds=1))
    add_job(any_database, payload={"n": 3}, run_after=T0 + timedelta(seconds=2))
    worker = Worker(
        any_database, {"test.record": seen.append}, worker_id="w1", clock=Clock(T0 + timedelta(1))
    )
    while worker.run_once():
        pass
    assert seen == [{"n": 1}, {"n": 2}, {"n": 3}]


def failing(payload: dict[str, Any]) -> None:
    raise RuntimeError(f"provider down for {payload['n']}")


def test_a_failing_job_is_retried_with_backoff_then_failed(any_database: Database) -> None:
    job_id = add_job(any_database, payload={"n": 7}, max_attempts=3)
    clock = Clock(T0)
    worker = Worker(
        any_database, {"test.record": failing}, worker_id="w1", clock=clock, backoff_seconds=10
    )
    for attempt, base in [(1, 10), (2, 20)]:
        assert worker.run_once() is True
        retried = job(any_database, job_id)
        assert (retried.status, retried.attempts) == ("queued", attempt)
        assert retried.last_error == "RuntimeError: provider down for 7"
        delay = retried.run_after - clock.now
        assert timedelta(seconds=base) <= delay <= timedelta(seconds=base * 1.5)
        assert worker.run_once() is False
        clock.now = retried.run_after
    assert worker.run_once() is True
    failed = job(any_database, job_id)
    assert (failed.status, failed.attempts, failed.finished_at) == ("failed", 3, clock.now)
    assert failed.last_error == "RuntimeError: provider down for 7"
    assert worker.run_once() is False


def test_the_give_up_is_told_once_when_the_attempts_are_spent(any_database: Database) -> None:
    told: list[tuple[dict[str, Any], str]] = []

    def refuse(payload: dict[str, Any]) -> None:
        raise PermanentJobError("number unsubscribed")

    def broken(payload: dict[str, Any], why: str) -> None:
        raise RuntimeError("the give-up itself failed")

    spent = add_job(any_database, payload={"n": 7}, max_attempts=2)
    refused = add_job(any_database, kind="test.refused", run_after=T0 + timedelta(hours=1))
    other = add_job(any_database, kind="test.broken", payload={"n": 8}, max_attempts=1)
    clock = Clock(T0)
    worker = Worker(
        any_database,
        {"test.record": failing, "test.refused": refuse, "test.broken": failing},
        worker_id="w1",
        clock=clock,
        backoff_seconds=1,
        give_ups={
            "test.record": lambda payload, why: told.append((payload, why)),
            "test.refused": lambda payload, why: told.append((payload, why)),
            "test.broken": broken,
        },
    )
    for _ in range(3):
        clock.now += timedelta(hours=1)
        while worker.run_once():
            pass
    why = "2 attempts failed, the last with RuntimeError: provider down for 7"
    assert told == [({"n": 7}, why)]  # a permanent error is the handler's to tell
    assert [job(any_database, i).status for i in (spent, refused, other)] == ["failed"] * 3


def test_backoff_doubles_up_to_its_cap(database: Database) -> None:
    worker = Worker(database, {}, worker_id="w1", backoff_seconds=30, max_backoff_seconds=100)
    assert timedelta(seconds=30) <= worker.backoff(1) <= timedelta(seconds=45)
    assert timedelta(seconds=60) <= worker.backoff(2) <= timedelta(seconds=90)
    assert timedelta(seconds=100) <= worker.backoff(5) <= timedelta(seconds=150)


def test_a_permanent_error_is_not_retried(any_database: Database) -> None:
    def refuse(payload: dict[str, Any]) -> None:
        raise PermanentJobError("number unsubscribed")

    job_id = add_job(any_database, max_attempts=5)
    worker = Worker(any_database, {"test.record": refuse}, worker_id="w1", clock=Clock(T0))
    assert worker.run_once() is True
    failed = job(any_database, job_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "PermanentJobError: number unsubscribed"


def test_a_job_without_a_handler_fails_at_once(any_database: Database) -> None:
    job_id = add_job(any_database, kind="nobody.handles.this")
    worker = Worker(any_database, {}, worker_id="w1", clock=Clock(T0))
    assert worker.run_once() is True
    failed = job(any_database, job_id)
    assert failed.status == "failed"
    assert "nobody.handles.this" in (failed.last_error or "")


def claim_and_vanish(database: Database, worker_id: str, now: datetime) -> None:
    """A worker that claims a job and dies before finishing it."""
    with database.session() as session:
        assert queue.claim(session, worker_id, now, timedelta(seconds=300)) is not None


def test_a_job_whose_lease_ran_out_is_run_again(any_database: Database) -> None:
    seen: list[dict[str, Any]] = []
    job_id = add_job(any_database, payload={"n": 1})
    claim_and_vanish(any_database, "crashed", T0)
    clock = Clock(T0 + timedelta(seconds=299))
    worker = Worker(any_database, {"test.record": seen.append}, worker_id="w2", clock=clock)
    assert worker.run_once() is False
    clock.now = T0 + timedelta(seconds=301)
    assert worker.run_once() is True
    assert seen == [{"n": 1}]
    rerun = job(any_database, job_id)
    assert (rerun.status, rerun.attempts) == ("done", 2)


def test_a_lost_lease_on_the_last_attempt_fails_the_job_and_tells_its_give_up(
    any_database: Database,
) -> None:
    seen: list[dict[str, Any]] = []
    told: list[tuple[dict[str, Any], str]] = []
    job_id = add_job(any_database, payload={"n": 3}, max_attempts=1)
    claim_and_vanish(any_database, "crashed", T0)
    clock = Clock(T0 + timedelta(hours=1))
    worker = Worker(
        any_database,
        {"test.record": seen.append},
        worker_id="w2",
        clock=clock,
        give_ups={"test.record": lambda payload, why: told.append((payload, why))},
    )
    assert worker.run_once() is False
    assert worker.run_once() is False
    assert seen == [] and told == [({"n": 3}, queue.ABANDONED)]
    failed = job(any_database, job_id)
    assert (failed.status, failed.last_error) == ("failed", queue.ABANDONED)


def test_a_worker_whose_lease_was_taken_over_does_not_finish_the_job(
    any_database: Database,
) -> None:
    job_id = add_job(any_database)
    claim_and_vanish(any_database, "slow", T0)
    later = T0 + timedelta(seconds=301)
    with any_database.session() as session:
        assert queue.claim(session, "fast", later, timedelta(seconds=300)) is not None
    with any_database.session() as session:
        assert queue.complete(session, job_id, "slow", later) is False
    assert job(any_database, job_id).locked_by == "fast"


def test_job_counts_cover_every_status(any_database: Database) -> None:
    add_job(any_database)
    add_job(any_database, kind="nobody.handles.this", run_after=T0 - timedelta(seconds=1))
    add_job(any_database, run_after=T0 + timedelta(days=1))
    worker = Worker(
        any_database, {"test.record": lambda payload: None}, worker_id="w1", clock=Clock(T0)
    )
    worker.run_once()
    worker.run_once()
    with any_database.session(read_only=True) as session:
        assert job_counts(session) == {"queued": 1, "running": 0, "done": 1, "failed": 1}


def test_enqueue_refuses_a_job_that_may_never_run(database: Database) -> None:
    with pytest.raises(ValueError), database.session() as session:
        enqueue(session, "test.record", {}, at=T0, max_attempts=0)


def test_run_forever_stops_when_told(any_database: Database) -> None:
    stop = threading.Event()
    seen: list[dict[str, Any]] = []

    def record(payload: dict[str, Any]) -> None:
        seen.append(payload)
        if len(seen) == 3:
            stop.set()

    for n in range(3):
        add_job(any_database, payload={"n": n})
    worker = Worker(any_database, {"test.record": record}, worker_id="w1", clock=Clock(T0))
    worker.run_forever(stop, poll_seconds=0.01)
    assert [p["n"] for p in seen] == [0, 1, 2]
    with any_database.session(read_only=True) as session:
        assert session.scalars(select(Job.status)).all() == ["done"] * 3
