"""The stale-call sweeper: a call whose process died mid-call is ended as the caller's hang-up.

A call is stale when it is still open (no end stored), began as an engine call (its
CallStarted is stored: the rows of callback calls, which only hold their recordings, are not
swept) and nothing was stored for it for `CIVICLINE_STALE_CALL_MINUTES` of wall-clock time
(`call_events.stored_at`: a terminal call on simulated time, `ivr call --at`, is judged by
when its rows were written, not by their times); the caller's hang-up is given at the call's
own last time. A call with a Transfer action and no TransferFinished after it is in transfer
(ringing, or on Twilio bridged to an officer until the dial ends) and is left alone until
TRANSFER_LIMIT has passed; a transfer answered on SIP is stored as the call's end at once,
so it is never open. Each stale call is claimed by a guarded UPDATE (its outcome set to
"swept" while its end is still empty: two sweepers claim it once), rebuilt by CallRunner
from its events and fed CallerHungUp at its last activity, so a half-made report becomes a
draft ticket through the engine and the usual effects; the runner then stores its end with
the outcome "swept" (the dashboard counts it as abandoned). A call whose replay fails is
logged and ended without it, so one such row never holds up the others. The worker sweeps
every SWEEP_EVERY (`calls.sweep_stale` jobs, queued by `schedule_sweep`).

A call whose node died (not seen for `line_nodes.NODE_TIMEOUT`, or a SIP node started again
since the call began: its audio died with it) is swept at once, whatever its age, and a
caller it dropped is offered a callback by SMS (`ivr.calls.lost`); the SIP node also sweeps
when it starts, so the calls of its previous life end before it takes new ones. A Twilio
call whose stream's node (an `ivr serve` worker) died is swept at once only when Twilio has
reported the call's end (a final status callback: the caller hung up as the node died, no
callback offered): without it, Twilio is moving the call to `/twilio/next` on another node,
and a sweep would end a call about to resume. Such a call whose status callback never comes
(none configured) is left to the stale sweep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from ivr.calls.lost import offer_callback
from ivr.calls.runner import CallRunner, CallServices
from ivr.calls.unfiled import file_unfiled
from ivr.engine import events as ev
from ivr.storage import line_nodes
from ivr.storage.calls import finish_call
from ivr.storage.db import Database
from ivr.storage.models import Call, CallEvent
from ivr.storage.queue import enqueue_periodic

logger = logging.getLogger(__name__)
SWEEP_JOB = "calls.sweep_stale"
SWEEP_EVERY = timedelta(minutes=1)
SWEPT = "swept"
TRANSFER_LIMIT = timedelta(hours=12)
"""A call in transfer is swept only after this: no conversation with an officer lasts it."""


def stale_calls(
    services: CallServices, *, now: datetime, limit: timedelta
) -> list[tuple[str, datetime]]:
    """The open calls lost by their process: (call id, time of its last stored row)."""
    found = []
    with services.database.session(read_only=True) as db:
        replayable = exists().where(
            CallEvent.call_id == Call.id, CallEvent.type == ev.CallStarted.__name__
        )
        open_calls = db.execute(
            select(Call.id, Call.started_at).where(
                Call.ended_at.is_(None),
                Call.outcome.is_(None),
                Call.started_at < now - limit,
                replayable,
            )
        ).all()
        for call_id, started_at in open_calls:
            last, last_stored, in_transfer = _activity(db, call_id, started_at)
            if last_stored < now - (TRANSFER_LIMIT if in_transfer else limit):
                found.append((call_id, last))
    return found


def lost_with_node(services: CallServices, now: datetime) -> list[tuple[str, datetime, bool]]:
    """The open calls whose node died (`line_nodes`), at once: (call id, last activity,
    whether it dropped under its caller)."""
    with services.database.session(read_only=True) as db:
        return [
            (call_id, _activity(db, call_id, db.get_one(Call, call_id).started_at)[0], dropped)
            for call_id, dropped in line_nodes.lost_calls(db, now)
        ]


def _activity(db: Any, call_id: str, started_at: datetime) -> tuple[datetime, datetime, bool]:
    """A call's last time, when its last row was stored, and whether it is in transfer."""
    stored = func.coalesce(CallEvent.stored_at, CallEvent.at)
    rows = db.execute(
        select(CallEvent.type, func.max(CallEvent.seq), func.max(CallEvent.at), func.max(stored))
        .where(CallEvent.call_id == call_id)
        .group_by(CallEvent.type)
    ).all()
    last = max((at for _, _, at, _ in rows), default=started_at)
    last_stored = max((when for _, _, _, when in rows), default=started_at)
    seqs = {type_name: seq for type_name, seq, _, _ in rows}
    return last, last_stored, seqs.get("Transfer", 0) > seqs.get("TransferFinished", 0)


def sweep(services: CallServices, *, now: datetime, limit: timedelta) -> list[str]:
    """End every stale call this sweeper claims, and at once every call whose node died
    (a caller it dropped offered a callback by SMS); the ids of the calls it ended."""
    swept = []
    lost = lost_with_node(services, now)
    dropped = {call_id for call_id, _, drop in lost if drop}
    lost_ids = {call_id for call_id, _, _ in lost}
    stale = [
        (i, last) for i, last in stale_calls(services, now=now, limit=limit) if i not in lost_ids
    ]
    for call_id, last in [*((i, last) for i, last, _ in lost), *stale]:
        if not _claim(services, call_id):
            continue
        try:
            runner = _hang_up(services, call_id, last)
        except SQLAlchemyError:
            raise  # the database is gone: the job is retried, the call stays claimed
        except Exception:  # a call the engine cannot replay must not stop the others
            logger.exception("stale call %s: its replay failed; ended without it", call_id)
            _end_unreplayed(services, call_id, last)
            swept.append(call_id)
            continue
        if runner is None:
            continue
        if call_id in dropped:
            offer_callback(services, runner, now)
        swept.append(call_id)
    return swept


def _hang_up(services: CallServices, call_id: str, last: datetime) -> CallRunner | None:
    """Replay the call and give it the caller's hang-up; its runner once its end is stored."""
    runner = CallRunner.resume(services, call_id)
    runner.ending_outcome = SWEPT
    runner.feed(ev.CallerHungUp(at=last))
    if not runner.finished:  # the database failed: the call stays claimed, not ended
        logger.error("stale call %s: claimed but its end could not be stored", call_id)
        return None
    refs = runner.session.ticket_refs
    logger.info(
        "stale call %s swept (last activity %s at node %s)%s",
        call_id,
        last.isoformat(),
        runner.session.node,
        f"; draft ticket {refs[-1]}" if refs else "",
    )
    return runner


def _end_unreplayed(services: CallServices, call_id: str, last: datetime) -> None:
    """Store the end of a claimed call at its last activity, without the engine (counted in
    the summaries by the local day of the current flow's city)."""
    zone = ZoneInfo(services.flows.current().flow.city.timezone)
    with services.database.session() as db:
        finish_call(
            db, call_id=call_id, at=last, outcome=SWEPT, department=None, ticket_id=None, zone=zone
        )


def _claim(services: CallServices, call_id: str) -> bool:
    """Mark the call as being swept unless it has ended or another sweeper has it."""
    with services.database.session() as db:
        claimed = db.execute(
            update(Call)
            .where(Call.id == call_id, Call.ended_at.is_(None), Call.outcome.is_(None))
            .values(outcome=SWEPT)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]  # a CursorResult


def schedule_sweep(database: Database, now: datetime) -> bool:
    """Queue the sweep of the next minute unless a worker has; whether this call queued it."""
    with database.session() as db:
        return enqueue_periodic(db, SWEEP_JOB, at=now, every=SWEEP_EVERY, max_attempts=3)


def sweep_handlers(
    services: Callable[[], CallServices], limit: timedelta, clock: Callable[[], datetime]
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The sweep job: sweep, file the reports storage failed to file (`ivr.calls.unfiled`),
    then queue the next one SWEEP_EVERY later."""

    def run(payload: dict[str, Any]) -> None:
        now = clock()
        built = services()
        sweep(built, now=now, limit=limit)
        file_unfiled(built, now)
        schedule_sweep(built.database, now)

    return {SWEEP_JOB: run}
