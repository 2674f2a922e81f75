"""Background jobs (DESIGN §6): what `ivr worker` runs, and how a failed job is retried.

A job is a row in `jobs` (`ivr.storage.queue`): `enqueue` adds one in the caller's
transaction; a Worker claims one due job at a time, runs the handler registered for its
kind outside any transaction, and marks it done. A handler that raises is retried with
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
from collections.abc import Callable, Mapping
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


class Worker:
    """Claims due jobs and runs their handlers; one job at a time."""

    def __init__(
        self,
        database: Database,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str,
        lease_seconds: float = 300,
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

    def run_once(self) -> bool:
        """Run one due job; False when none was due."""
        now = self.clock()
        with self.database.session() as session:
            abandoned = queue.fail_abandoned(session, now)
            job = queue.claim(session, self.worker_id, now, self.lease)
        for gone in abandoned:
            logger.error("job %s (%s) failed: %s", gone.id, gone.kind, queue.ABANDONED)
            self._give_up(gone, queue.ABANDONED)
        if job is None:
            return False
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for jobs of kind {job.kind!r}")
            handler(job.payload)
        except PermanentJobError as exc:
            logger.error("job %s (%s) failed: %s", job.id, job.kind, exc)
            self._record(queue.fail, job.id, self.clock(), _describe(exc))
        except Exception as exc:
            self._after_error(job, exc)
        else:
            self._record(queue.complete, job.id, self.clock())
        return True

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        """Run jobs until `stop` is set, waiting `poll_seconds` whenever none is due."""
        while not stop.is_set():
            try:
                ran = self.run_once()
            except OperationalError:
                logger.exception("the database is unavailable; trying again")
                ran = False
            if not ran:
                stop.wait(poll_seconds)

    def backoff(self, attempts: int) -> timedelta:
        """How long to wait before attempt `attempts + 1`: doubling, capped, with jitter."""
        base = min(self.backoff_seconds * 2 ** (attempts - 1), self.max_backoff_seconds)
        return timedelta(seconds=base * random.uniform(1.0, 1.5))

    def _after_error(self, job: queue.ClaimedJob, exc: Exception) -> None:
        now = self.clock()
        if job.attempts >= job.max_attempts:
            logger.error("job %s (%s) failed after %s attempts", job.id, job.kind, job.attempts)
            self._give_up(job, f"{job.attempts} attempts failed, the last with {_describe(exc)}")
            self._record(queue.fail, job.id, now, _describe(exc))
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
        self._record(queue.retry, job.id, run_after, _describe(exc))

    def _give_up(self, job: queue.ClaimedJob, why: str) -> None:
        give_up = self.give_ups.get(job.kind)
        if give_up is None:
            return
        try:
            give_up(job.payload, why)
        except Exception:
            logger.exception("job %s (%s): its give-up failed", job.id, job.kind)

    def _record(self, change: Callable[..., bool], job_id: int, *args: Any) -> None:
        with self.database.session() as session:
            held = change(session, job_id, self.worker_id, *args)
        if not held:
            logger.warning("job %s: the lease of %s ran out first", job_id, self.worker_id)


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
