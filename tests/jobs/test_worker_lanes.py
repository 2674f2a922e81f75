"""The worker runs jobs at once in lanes (a slow kind never holds up a time-critical one),
and a heartbeat renews the leases of running jobs, so a dead worker's job is taken over as
soon as its short lease is over, and a live worker's long job never is."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from hand_clock import Clock

from ivr.cli.worker import SLOW_KINDS, lanes
from ivr.config import Settings
from ivr.jobs import Lane, Worker, enqueue
from ivr.storage.db import Database
from ivr.storage.models import Job
from ivr.storage.transcriptions import TRANSCRIBE

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
WAIT = 30
"""Seconds a test waits for something that happens at once, before it counts as a failure."""


def add_job(database: Database, kind: str, payload: dict[str, Any] | None = None) -> int:
    with database.session() as session:
        return enqueue(session, kind, payload or {}, at=T0).id


def stored(database: Database, job_id: int) -> Job:
    with database.session(read_only=True) as session:
        return session.get_one(Job, job_id)


def run_in_thread(worker: Worker, stop: threading.Event, worker_lanes: tuple[Lane, ...]):
    thread = threading.Thread(target=worker.run_forever, args=(stop, 0.01, worker_lanes))
    thread.start()
    return thread


def test_a_slow_job_never_holds_up_a_callback_due_after_it(any_database: Database) -> None:
    """One thread per lane: the transcription is claimed first and never ends until the
    callback has run."""
    transcribing, released, placed = threading.Event(), threading.Event(), threading.Event()

    def transcribe(payload: dict[str, Any]) -> None:
        transcribing.set()
        assert released.wait(WAIT)

    slow = add_job(any_database, TRANSCRIBE)
    worker = Worker(
        any_database,
        {TRANSCRIBE: transcribe, "callback.place": lambda payload: placed.set()},
        worker_id="w1",
        clock=Clock(T0),
    )
    stop = threading.Event()
    thread = run_in_thread(worker, stop, lanes(Settings(worker_threads=1, worker_slow_threads=1)))
    try:
        assert transcribing.wait(WAIT)
        callback = add_job(any_database, "callback.place")
        assert placed.wait(WAIT)
        assert stored(any_database, slow).status == "running"
    finally:
        released.set()
        stop.set()
        thread.join(WAIT)
    assert not thread.is_alive()
    assert stored(any_database, callback).status == stored(any_database, slow).status == "done"


def test_a_lane_runs_its_threads_jobs_at_once(any_database: Database) -> None:
    """Two SMS jobs, two threads: each handler waits for the other to start."""
    both = threading.Barrier(2, timeout=WAIT)
    ids = [add_job(any_database, "sms.send", {"n": n}) for n in range(2)]
    worker = Worker(
        any_database, {"sms.send": lambda payload: both.wait()}, worker_id="w1", clock=Clock(T0)
    )
    stop = threading.Event()
    thread = run_in_thread(worker, stop, (Lane("prompt", 2, other_kinds=SLOW_KINDS),))
    try:
        for job_id in ids:
            while stored(any_database, job_id).status != "done" and thread.is_alive():
                stop.wait(0.01)
    finally:
        stop.set()
        thread.join(WAIT)
    assert [stored(any_database, job_id).status for job_id in ids] == ["done", "done"]
    assert not both.broken


def test_a_lane_takes_only_its_kinds(database: Database) -> None:
    add_job(database, "sms.send")
    worker = Worker(database, {"sms.send": lambda payload: None}, worker_id="w1", clock=Clock(T0))
    slow = Lane("slow", 1, kinds=SLOW_KINDS)
    assert worker.run_once(slow) is False
    assert worker.run_once(Lane("prompt", 1, other_kinds=SLOW_KINDS)) is True


def test_the_heartbeat_keeps_a_long_job_from_being_taken_over(database: Database) -> None:
    clock = Clock(T0)
    job_id = add_job(database, "callback.place")
    started, released = threading.Event(), threading.Event()

    def place(payload: dict[str, Any]) -> None:
        started.set()
        assert released.wait(WAIT)

    worker = Worker(database, {"callback.place": place}, worker_id="w1", clock=clock)
    other = Worker(database, {"callback.place": place}, worker_id="w2", clock=clock)
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    try:
        assert started.wait(WAIT)
        for _ in range(4):  # two minutes of a 30 s lease, renewed every 30 s
            clock.now += timedelta(seconds=30)
            worker.renew_leases()
            assert other.run_once() is False
    finally:
        released.set()
        thread.join(WAIT)
    done = stored(database, job_id)
    assert (done.status, done.attempts, done.locked_by) == ("done", 1, None)


def test_the_heartbeat_thread_renews_the_lease_while_the_job_runs(database: Database) -> None:
    job_id = add_job(database, "sms.send")
    first_lease: list[datetime] = []
    renewed = threading.Event()
    stop = threading.Event()

    def send(payload: dict[str, Any]) -> None:
        first_lease.append(stored(database, job_id).locked_until)
        for _ in range(WAIT * 100):
            if stored(database, job_id).locked_until > first_lease[0]:
                renewed.set()
                break
            stop.wait(0.01)
        stop.set()

    worker = Worker(database, {"sms.send": send}, worker_id="w1", lease_seconds=0.3)
    worker.run_forever(stop, 0.01, (Lane("prompt", 1),))
    assert renewed.is_set()
    assert stored(database, job_id).status == "done"


def hang_in_a_job(url: str, lease_seconds: float, running: Any) -> None:
    """A worker process whose job never ends (until the process is killed)."""
    database = Database(url)

    def hang(payload: dict[str, Any]) -> None:
        running.set()
        threading.Event().wait()

    Worker(
        database, {"sms.send": hang}, worker_id="doomed", lease_seconds=lease_seconds
    ).run_forever(threading.Event(), 0.01, (Lane("prompt", 1),))


def test_a_killed_workers_job_is_taken_over_once_its_short_lease_is_over(any_url: str) -> None:
    database = Database(any_url)
    database.upgrade()
    try:
        job_id = add_job(database, "sms.send")
        context = multiprocessing.get_context("spawn")
        running = context.Event()
        process = context.Process(target=hang_in_a_job, args=(any_url, 30.0, running))
        process.start()
        try:
            assert running.wait(WAIT)
        finally:
            process.kill()
            process.join(WAIT)
        left = stored(database, job_id)
        assert (left.status, left.locked_by) == ("running", "doomed/prompt-0")
        lease_end = left.locked_until.astimezone(UTC)
        assert lease_end <= datetime.now(UTC) + timedelta(seconds=30)
        sent: list[dict[str, Any]] = []
        clock = Clock(lease_end - timedelta(seconds=1))
        rescuer = Worker(database, {"sms.send": sent.append}, worker_id="w2", clock=clock)
        assert rescuer.run_once() is False
        clock.now = lease_end + timedelta(seconds=1)
        assert rescuer.run_once() is True
        taken = stored(database, job_id)
        assert (taken.status, taken.attempts, sent) == ("done", 2, [{}])
    finally:
        database.dispose()
