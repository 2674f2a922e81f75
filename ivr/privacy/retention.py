"""The retention purge: what is past its time is removed or anonymised, in small batches.

Each kind of personal data has its own retention (`CIVICLINE_RETENTION_*`, in days):
recordings (rows and files), transcripts, descriptions and the citizen's own notes (said or
texted) of closed tickets, callers'
numbers (calls, closed tickets, past callbacks and the citizen's calls placed for them,
past appointments at a counter,
sent SMS, PIN look-ups, received SMS, the link from a survey score to the call or
callback it scored, and the errors of SMS and finished jobs), the language remembered per
number, SMS bodies (sent and received), and call events (with the line actions of Twilio
streams, what the caller said as kept on the call for the call log's search, and the
call's search words). Tickets' registration numbers and statuses, survey scores and the
summary tables are never touched.

Every batch is its own transaction and every step selects only what is still to do, so a
purge stopped half-way is finished by the next run. Recording files are deleted after their
rows are committed; a file left behind by a stopped run (no row, older than a day) is
deleted by the next, and a file already missing is counted, not fatal. The worker runs the
purge daily at 02:00 UTC (`privacy.purge` jobs, scheduled by `schedule_purge`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, null, select, update

from ivr.privacy.holdings import CLOSED_STATUSES
from ivr.privacy.periods import Retention
from ivr.recordings.files import RecordingFiles
from ivr.storage.audit import audit
from ivr.storage.db import Database
from ivr.storage.models.base import Base
from ivr.storage.queue import enqueue_periodic

logger = logging.getLogger(__name__)
BATCH = 500
ORPHAN_AGE = timedelta(days=1)
"""A file without a row is deleted only once this old: a channel writes the file first."""
PURGE_JOB = "privacy.purge"
PURGE_EVERY = timedelta(days=1)
PURGE_AT = timedelta(hours=2)
"""The purge runs daily at 02:00 UTC, once however many workers there are."""
CITIZEN_SOURCES = ("phone", "sms")
"""Notes a citizen added (`TicketNote.source`): their words go with the report's description."""


def purge(
    database: Database,
    retention: Retention,
    files: RecordingFiles,
    *,
    now: datetime,
    dry_run: bool = False,
) -> dict[str, int]:
    """Remove or anonymise what is past its time; how many rows (and files) of each kind.
    A dry run changes nothing and counts what a purge would touch now."""
    t = Base.metadata.tables
    calls, tickets, outbox = t["calls"], t["tickets"], t["sms_outbox"]
    done: dict[str, int] = {}

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    def step(name: str, table: Table, where: ColumnElement[bool], values: Any = None) -> None:
        if dry_run:
            done[name] = _count(database, table, where)
        else:
            done[name] = _in_batches(database, table, where, values)

    ended = select(calls.c.id).where(calls.c.ended_at < before(retention.call_events))
    step("call_events", t["call_events"], t["call_events"].c.call_id.in_(ended))
    # what the caller said, kept on the call for the call log's search, goes with the events
    step("call_transcripts", calls, calls.c.id.in_(ended) & calls.c.transcript.is_not(None),
         {"transcript": None})  # fmt: skip
    step("call_words", t["call_words"], t["call_words"].c.call_id.in_(ended))
    tokens = t["twilio_stream_tokens"]  # a stream's line actions: call events by another name
    step("stream_tokens", tokens, tokens.c.issued_at < before(retention.call_events))
    old = t["recordings"].c.created_at < before(retention.recordings)
    if dry_run:
        done["recordings"] = _count(database, t["recordings"], old)
    else:
        done.update(_recordings(database, files, old, now))
    closed = tickets.c.status.in_(CLOSED_STATUSES)
    step(
        "transcripts",
        tickets,
        closed
        & (tickets.c.updated_at < before(retention.transcripts))
        & (tickets.c.description.is_not(None) | tickets.c.transcript.is_not(None)),
        {"description": None, "transcript": null()},  # SQL NULL, not JSON null
    )
    notes = t["ticket_notes"]  # what the citizen added by phone or SMS: their own words
    old_closed = select(tickets.c.id).where(
        closed & (tickets.c.updated_at < before(retention.transcripts))
    )
    step(
        "citizen_notes",
        notes,
        notes.c.ticket_id.in_(old_closed)
        & notes.c.source.in_(CITIZEN_SOURCES)
        & ((notes.c.body != "") | notes.c.recording_id.is_not(None)),
        {"body": "", "recording_id": None},
    )
    numbers = before(retention.caller_numbers)
    step("call_callers", calls, (calls.c.started_at < numbers) & calls.c.caller.is_not(None),
         {"caller": None})  # fmt: skip
    step(
        "ticket_callers",
        tickets,
        closed & (tickets.c.updated_at < numbers) & tickets.c.caller.is_not(None),
        {"caller": None},
    )
    callbacks = t["callbacks"]
    step(
        "callback_callers",
        callbacks,
        (callbacks.c.slot_start < numbers) & (callbacks.c.caller != ""),
        {"caller": ""},
    )
    visits = t["appointments"]
    step(
        "appointment_callers",
        visits,
        (visits.c.slot_start < numbers) & visits.c.caller.is_not(None),
        {"caller": None},
    )
    attempts = t["callback_attempts"]
    step(
        "callback_attempt_numbers",
        attempts,
        (attempts.c.started_at < numbers) & (attempts.c.leg == "citizen") & (attempts.c.to != ""),
        {"to": ""},
    )
    surveys = t["survey_responses"]
    step(
        "survey_links",
        surveys,
        (surveys.c.at < numbers)
        & (surveys.c.call_id.is_not(None) | surveys.c.callback_id.is_not(None)),
        {"call_id": None, "callback_id": None},
    )
    step("sms_numbers", outbox, (outbox.c.created_at < numbers) & (outbox.c.to != ""),
         {"to": ""})  # fmt: skip
    # a carrier's error may quote the number ("The 'To' number +40... is not valid")
    step("sms_errors", outbox, (outbox.c.created_at < numbers) & outbox.c.error.is_not(None),
         {"error": None})  # fmt: skip
    jobs = t["jobs"]
    step("job_errors", jobs, (jobs.c.finished_at < numbers) & jobs.c.last_error.is_not(None),
         {"last_error": None})  # fmt: skip
    step("pin_attempts", t["pin_attempts"], t["pin_attempts"].c.at < numbers)
    inbound = t["sms_inbound"]
    step("sms_inbound", inbound, inbound.c.received_at < numbers)
    prefs = t["caller_preferences"]
    step("languages", prefs, prefs.c.updated_at < before(retention.languages))
    step(
        "sms_bodies",
        outbox,
        (outbox.c.created_at < before(retention.sms_bodies)) & (outbox.c.body != ""),
        {"body": ""},
    )
    step(
        "sms_inbound_bodies",
        inbound,
        (inbound.c.received_at < before(retention.sms_bodies)) & (inbound.c.body != ""),
        {"body": ""},
    )
    if dry_run:
        return done
    with database.session() as session:
        audit(session, actor="retention", action="privacy.purge", target="retention",
              details=done, at=now)  # fmt: skip
    logger.info("retention purge: %s", ", ".join(f"{k} {v}" for k, v in done.items()))
    return done


def _count(database: Database, table: Table, where: ColumnElement[bool]) -> int:
    with database.session(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(table).where(where)) or 0)


def _in_batches(
    database: Database, table: Table, where: ColumnElement[bool], values: Any = None
) -> int:
    """Delete (or update with `values`) the rows matching `where`, BATCH rows a transaction."""
    key = next(iter(table.primary_key.columns))
    total = 0
    while True:
        with database.session() as session:
            ids = list(session.scalars(select(key).where(where).limit(BATCH)))
            if not ids:
                return total
            change = delete(table) if values is None else update(table).values(**values)
            session.execute(change.where(key.in_(ids)))
        total += len(ids)


def _recordings(
    database: Database, files: RecordingFiles, old: ColumnElement[bool], now: datetime
) -> dict[str, int]:
    t = Base.metadata.tables
    recordings, tickets, twilio = t["recordings"], t["tickets"], t["twilio_recordings"]
    notes = t["ticket_notes"]
    deleted = missing = 0
    while True:
        with database.session() as session:
            rows = session.execute(select(recordings.c.id, recordings.c.path).where(old)
                                   .limit(BATCH)).all()  # fmt: skip
            if not rows:
                break
            ids = [row.id for row in rows]
            session.execute(update(tickets).where(tickets.c.recording_id.in_(ids))
                            .values(recording_id=None))  # fmt: skip
            session.execute(update(twilio).where(twilio.c.recording_id.in_(ids))
                            .values(recording_id=None))  # fmt: skip
            session.execute(update(notes).where(notes.c.recording_id.in_(ids))
                            .values(recording_id=None))  # fmt: skip
            session.execute(delete(recordings).where(recordings.c.id.in_(ids)))
        for row in rows:
            if files.delete(row.path):
                deleted += 1
            else:
                missing += 1
                logger.warning("recording %s: its file %s was already missing", row.id, row.path)
    return {"recordings": deleted, "recording_files_missing": missing,
            "orphan_files": _orphans(database, files, now)}  # fmt: skip


def _orphans(database: Database, files: RecordingFiles, now: datetime) -> int:
    """Delete recording files that no row names (left by a purge or erasure stopped early)."""
    recordings = Base.metadata.tables["recordings"]
    with database.session(read_only=True) as session:
        known = set(session.scalars(select(recordings.c.path)))
    old = [f.key for f in files.files() if f.key not in known and now - f.modified > ORPHAN_AGE]
    return sum(files.delete(key) for key in old)


def schedule_purge(database: Database, now: datetime) -> bool:
    """Queue the next daily purge unless a worker has; whether this call queued it."""
    with database.session() as session:
        return enqueue_periodic(
            session, PURGE_JOB, at=now, every=PURGE_EVERY, offset=PURGE_AT, max_attempts=3
        )


def purge_handlers(
    database: Database, retention: Retention, files: RecordingFiles, clock: Callable[[], datetime]
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The "privacy.purge" job: purge, then queue tomorrow's."""

    def run(payload: dict[str, Any]) -> None:
        now = clock()
        purge(database, retention, files, now=now)
        schedule_purge(database, now)

    return {PURGE_JOB: run}
