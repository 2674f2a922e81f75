"""The jobs table's operations (DESIGN §6): enqueue, claim one due job atomically, finish.

A claim is one `UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING`: on PostgreSQL the
inner SELECT is `FOR UPDATE SKIP LOCKED`, so concurrent workers take different rows; on
SQLite the write session's BEGIN IMMEDIATE already lets one writer in at a time. A running
job's lease is renewed by its worker's heartbeat (`renew`); a job whose worker vanished
(still `running` after its lease) is due again. The retry policy (backoff,
giving up) belongs to the worker, `ivr.jobs`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from ivr.storage.models import JOB_STATUSES, Job
from ivr.storage.upsert import insert_once


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    """Including the run just claimed."""
    max_attempts: int


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    at: datetime,
    run_after: datetime | None = None,
    max_attempts: int = 5,
) -> Job:
    """Add a job of `kind`, due at `run_after` (at once by default), in the caller's
    transaction: it exists only if the work that asked for it is committed too."""
    job = Job(**_queued(kind, payload, at, run_after, max_attempts))
    session.add(job)
    session.flush()
    return job


def enqueue_once(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str,
    at: datetime,
    run_after: datetime | None = None,
    max_attempts: int = 5,
) -> bool:
    """Add a `kind` job unless one with the same `key` was ever queued (the unique key, not a
    look-up: two sessions asking at once still queue one). Whether this call queued it."""
    values = _queued(kind, payload, at, run_after, max_attempts) | {"unique_key": key}
    return insert_once(session, Job, values, [Job.unique_key])


def _queued(
    kind: str,
    payload: dict[str, Any],
    at: datetime,
    run_after: datetime | None,
    max_attempts: int,
) -> dict[str, Any]:
    """The columns of a new queued job."""
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    return {
        "kind": kind,
        "payload": payload,
        "status": "queued",
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": run_after or at,
        "created_at": at,
    }


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
"""Periods are counted from here, so every worker computes the same boundaries."""


def next_boundary(after: datetime, every: timedelta, offset: timedelta = timedelta()) -> datetime:
    """The first boundary strictly after `after` of periods of `every` that start at
    `offset` past midnight UTC (every minute; daily at 02:00)."""
    if every <= timedelta():
        raise ValueError(f"a period must be positive, not {every}")
    start = EPOCH + offset
    return start + ((after - start) // every + 1) * every


def enqueue_periodic(
    session: Session,
    kind: str,
    *,
    at: datetime,
    every: timedelta,
    max_attempts: int,
    offset: timedelta = timedelta(),
) -> bool:
    """Queue the run of the periodic job `kind` at the next boundary of its period after
    `at`, unless it is queued already; whether this call queued it. Each worker calls this
    when it starts and each run when it ends: the run's unique key (`kind@boundary`) keeps
    it to one row per period however many workers ask, also when a run is taken over."""
    run_after = next_boundary(at, every, offset)
    key = f"{kind}@{run_after.isoformat()}"
    return enqueue_once(
        session, kind, {}, key=key, at=at, run_after=run_after, max_attempts=max_attempts
    )


ABANDONED = "the worker running it stopped (lease expired)"
_CLAIMED = (Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
"""A ClaimedJob's fields, in order."""


def fail_abandoned(session: Session, now: datetime) -> list[ClaimedJob]:
    """Fail the jobs whose worker stopped during their last attempt (their lease is over),
    instead of running them again; which they were."""
    rows = session.execute(
        update(Job)
        .where(_abandoned(now), Job.attempts >= Job.max_attempts)
        .values(
            status="failed",
            last_error=ABANDONED,
            finished_at=now,
            locked_by=None,
            locked_until=None,
        )
        .returning(*_CLAIMED)
        .execution_options(synchronize_session=False)
    ).all()
    return [ClaimedJob(*row) for row in rows]


def _abandoned(now: datetime) -> ColumnElement[bool]:
    return and_(Job.status == "running", Job.locked_until < now)


def claim(
    session: Session,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    *,
    kinds: Collection[str] | None = None,
    other_kinds: Collection[str] = (),
) -> ClaimedJob | None:
    """Lease the next due job to `worker_id` until `now + lease`; None when nothing is due.
    A job abandoned (lease over) is due again, unless that was its last attempt
    (`fail_abandoned` fails those first). Only jobs of `kinds` when given, and none of
    `other_kinds`: how a worker's lanes keep slow kinds apart."""
    again = and_(_abandoned(now), Job.attempts < Job.max_attempts)
    due = or_(and_(Job.status == "queued", Job.run_after <= now), again)
    if kinds is not None:
        due = and_(due, Job.kind.in_(kinds))
    if other_kinds:
        due = and_(due, Job.kind.not_in(other_kinds))
    next_id = (
        select(Job.id)
        .where(due)
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = session.execute(
        update(Job)
        .where(Job.id == next_id)
        .values(
            status="running",
            attempts=Job.attempts + 1,
            locked_by=worker_id,
            locked_until=now + lease,
        )
        .returning(*_CLAIMED)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return None if row is None else ClaimedJob(*row)


def renew(session: Session, job_id: int, worker_id: str, until: datetime) -> bool:
    """Extend the lease `worker_id` holds on a running job (its heartbeat); False when it no
    longer holds it."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.status == "running")
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult


def complete(session: Session, job_id: int, worker_id: str, now: datetime) -> bool:
    """Mark a job done; False when `worker_id` no longer holds it (its lease was taken over)."""
    return _finish(session, job_id, worker_id, status="done", now=now, error=None)


def fail(session: Session, job_id: int, worker_id: str, now: datetime, error: str) -> bool:
    """Mark a job failed for good."""
    return _finish(session, job_id, worker_id, status="failed", now=now, error=error)


def retry(session: Session, job_id: int, worker_id: str, run_after: datetime, error: str) -> bool:
    """Put a job back in the queue, due at `run_after`."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.status == "running")
        .values(
            status="queued",
            run_after=run_after,
            last_error=error,
            locked_by=None,
            locked_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult


def job_counts(session: Session) -> dict[str, int]:
    """How many jobs are in each status (every status, zeros included), for the health page."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    counts = dict.fromkeys(JOB_STATUSES, 0)
    counts.update({status: count for status, count in rows})
    return counts


def _finish(
    session: Session, job_id: int, worker_id: str, *, status: str, now: datetime, error: str | None
) -> bool:
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "locked_by": None,
        "locked_until": None,
    }
    if error is not None:
        values["last_error"] = error
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.status == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult
