"""Background jobs (DESIGN §6): what `ivr worker` runs, and how a failed job is retried.

A job is a row in `jobs` (`ivr.storage.queue`): `enqueue` adds one in the caller's
transaction; a Worker's threads each claim one due job at a time, run the handler registered
for its kind outside any transaction, and mark it done. The threads are grouped in lanes by
kind, so that a slow kind never delays a time-critical one, and a heartbeat renews the lease
of every running job: a worker that dies stops renewing, and its job is taken over once the
short lease (30 s by default) is over. A handler that raises is retried with
exponential backoff and jitter until the job's `max_attempts`, then the job is failed with
the error; a kind may have a give-up, told why when its attempts are spent, to leave a
trace where people look (a note on a ticket). PermanentJobError (and a kind without a
handler) fails it at once, without the give-up: a handler that knows it cannot succeed says
so itself. A worker that dies mid-job leaves it `running`; once its lease is over another
worker runs it again (or, after its last attempt, fails it and tells its give-up), so a
handler must be safe to run twice (the SMS handler is: it marks its row `sending` first).

Handlers are given by the composition root; `sms_handlers` builds the one for "sms.send".
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError

from ivr.clock import Clock, utc_now
from ivr.storage import queue
from ivr.storage.db import Database
from ivr.storage.outbox import SmsOutcomeUnknown, SmsRejected, send_queued
from ivr.storage.queue import enqueue, job_counts

if TYPE_CHECKING:
    from ivr.engine.ports import SmsSender

__all__ = [
    "Lane",
    "PermanentJobError",
    "Worker",
    "enqueue",
    "job_counts",
    "sms_handlers",
]

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
GiveUp = Callable[[dict[str, Any], str], None]
"""Told a job's payload and why its last attempt failed: just before the job is failed, or,
when its worker stopped during that attempt, by the worker that finds it abandoned."""


class PermanentJobError(Exception):
    """Raised by a handler when running the job again cannot help: it fails at once."""


@dataclass(frozen=True)
class Lane:
    """Threads of a worker that claim only some kinds of job, so that slow kinds
    (transcriptions, downloads) never hold up time-critical ones (a callback at its slot, an
    SMS): `kinds` when given, and never `other_kinds`."""

    name: str
    threads: int
    kinds: frozenset[str] | None = None
    other_kinds: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError(f"lane {self.name!r} needs at least one thread")


ANY_KIND = (Lane("jobs", 1),)
"""One thread for every kind: a worker given no lanes."""


class Worker:
    """Claims due jobs and runs their handlers: `run_once` one job in the calling thread,
    `run_forever` in each lane's threads at once, while a heartbeat renews the lease of every
    job running, so the lease can be short and a dead worker's job is taken over soon."""

    def __init__(
        self,
        database: Database,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str,
        lease_seconds: float = 30,
        clock: Clock = utc_now,
        backoff_seconds: float = 30,
        max_backoff_seconds: float = 3600,
        give_ups: Mapping[str, GiveUp] | None = None,
    ) -> None:
        self.database = database
        self.handlers = dict(handlers)
        self.give_ups = dict(give_ups or {})
        self.worker_id = worker_id
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._running: dict[int, str] = {}
        """Job id → the holder (this worker's thread) running it, for the heartbeat."""
        self._running_lock = threading.Lock()

    def run_once(self, lane: Lane | None = None, holder: str | None = None) -> bool:
        """Run one due job (of `lane`'s kinds, when given); False when none was due."""
        holder = holder or self.worker_id
        now = self.clock()
        kinds, other_kinds = (lane.kinds, lane.other_kinds) if lane else (None, frozenset())
        with self.database.session() as session:
            abandoned = queue.fail_abandoned(session, now)
            job = queue.claim(
                session, holder, now, self.lease, kinds=kinds, other_kinds=other_kinds
            )
        for gone in abandoned:
            logger.error("job %s (%s) failed: %s", gone.id, gone.kind, queue.ABANDONED)
            self._give_up(gone, queue.ABANDONED)
        if job is None:
            return False
        with self._running_lock:
            self._running[job.id] = holder
        try:
            self._run(job, holder)
        finally:
            with self._running_lock:
                del self._running[job.id]
        return True

    def run_forever(
        self, stop: threading.Event, poll_seconds: float, lanes: Sequence[Lane] = ANY_KIND
    ) -> None:
        """Run jobs in every lane's threads until `stop` is set (each thread finishes the job
        it is running), waiting `poll_seconds` whenever its lane has none due."""
        threads = [
            threading.Thread(
                target=self._lane_loop,
                args=(lane, f"{self.worker_id}/{lane.name}-{index}", stop, poll_seconds),
                name=f"jobs-{lane.name}-{index}",
            )
            for lane in lanes
            for index in range(lane.threads)
        ]
        done = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(done,), name="jobs-heartbeat")
        heartbeat.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        heartbeat.join()

    def renew_leases(self) -> None:
        """Extend the lease of every job this worker is running (the heartbeat's beat)."""
        with self._running_lock:
            running = dict(self._running)
        if not running:
            return
        until = self.clock() + self.lease
        with self.database.session() as session:
            for job_id, holder in running.items():
                if not queue.renew(session, job_id, holder, until):
                    logger.warning("job %s: the lease of %s was taken over", job_id, holder)

    def backoff(self, attempts: int) -> timedelta:
        """How long to wait before attempt `attempts + 1`: doubling, capped, with jitter."""
        base = min(self.backoff_seconds * 2 ** (attempts - 1), self.max_backoff_seconds)
        return timedelta(seconds=base * random.uniform(1.0, 1.5))

    def _lane_loop(
        self, lane: Lane, holder: str, stop: threading.Event, poll_seconds: float
    ) -> None:
        while not stop.is_set():
            try:
                ran = self.run_once(lane, holder)
            except OperationalError:
                logger.exception("the database is unavailable; trying again")
                ran = False
            if not ran:
                stop.wait(poll_seconds)

    def _heartbeat(self, done: threading.Event) -> None:
        """Renew the running jobs' leases three times per lease, until `done`."""
        while not done.wait(self.lease.total_seconds() / 3):
            try:
                self.renew_leases()
            except OperationalError:
                logger.exception("leases could not be renewed; trying again")

    def _run(self, job: queue.ClaimedJob, holder: str) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for jobs of kind {job.kind!r}")
            handler(job.payload)
        except PermanentJobError as exc:
            logger.error("job %s (%s) failed: %s", job.id, job.kind, exc)
            self._record(queue.fail, job.id, holder, self.clock(), _describe(exc))
        except Exception as exc:
            self._after_error(job, holder, exc)
        else:
            self._record(queue.complete, job.id, holder, self.clock())

    def _after_error(self, job: queue.ClaimedJob, holder: str, exc: Exception) -> None:
        now = self.clock()
        if job.attempts >= job.max_attempts:
            logger.error("job %s (%s) failed after %s attempts", job.id, job.kind, job.attempts)
            self._give_up(job, f"{job.attempts} attempts failed, the last with {_describe(exc)}")
            self._record(queue.fail, job.id, holder, now, _describe(exc))
            return
        run_after = now + self.backoff(job.attempts)
        logger.warning(
            "job %s (%s) attempt %s failed, retrying at %s: %s",
            job.id,
            job.kind,
            job.attempts,
            run_after.isoformat(),
            _describe(exc),
            exc_info=exc,
        )
        self._record(queue.retry, job.id, holder, run_after, _describe(exc))

    def _give_up(self, job: queue.ClaimedJob, why: str) -> None:
        give_up = self.give_ups.get(job.kind)
        if give_up is None:
            return
        try:
            give_up(job.payload, why)
        except Exception:
            logger.exception("job %s (%s): its give-up failed", job.id, job.kind)

    def _record(self, change: Callable[..., bool], job_id: int, holder: str, *args: Any) -> None:
        with self.database.session() as session:
            held = change(session, job_id, holder, *args)
        if not held:
            logger.warning("job %s: the lease of %s ran out first", job_id, holder)


def sms_handlers(
    database: Database, sender: SmsSender, clock: Clock = utc_now
) -> dict[str, Handler]:
    """The handler of "sms.send" jobs (payload `{"outbox_id": N}`), sending with `sender`."""

    def send(payload: dict[str, Any]) -> None:
        try:
            send_queued(database, int(payload["outbox_id"]), sender, clock=clock)
        except (SmsRejected, SmsOutcomeUnknown) as exc:
            raise PermanentJobError(str(exc)) from exc

    return {"sms.send": send}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
