"""Erasing a phone number everywhere: `ivr privacy erase` and the supervisor site.

In one transaction: the call events of the number's calls (keys, transcripts, prompts) are
deleted; its calls and tickets stay, anonymised (no caller, description, transcript or
recording), so registration numbers, statuses and statistics still add up (survey scores
stay, cut off from the calls and callbacks they scored); SMS sent and
received, opt-out, remembered language, PIN look-ups, recordings and the carrier's records
of its calls are deleted or blanked (its callbacks and appointments still to come are
cancelled, their places freed); any other row that mentions the number has the text
that mentions it replaced. An audit entry says what was done, naming the number only masked.
Recording files are deleted after the commit (a file already missing is reported); a crash
in between leaves files without rows, which the retention purge removes.

A number with open tickets is refused unless `force`: those tickets stay open, anonymised,
and the report names them (the officer can no longer call or text the caller back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, null, text, update
from sqlalchemy.orm import Session

from ivr.privacy.holdings import Holdings, find, personal_tables, rows_of, text_columns
from ivr.privacy.subject import Subject
from ivr.recordings.files import RecordingFiles
from ivr.storage.audit import audit
from ivr.storage.db import Database

ERASED = "[erased]"
DELETED = frozenset(
    {"call_events", "sms_inbound", "sms_opt_outs", "caller_preferences", "pin_attempts",
     "recordings"}
)  # fmt: skip
ANONYMISED: dict[str, dict[str, Any]] = {
    "calls": {"caller": None, "transcript": None},
    "tickets": {"caller": None, "description": None, "transcript": null(), "recording_id": None},
    "ticket_notes": {"body": ERASED, "recording_id": None},
    "ticket_status_changes": {"note": None},
    "callbacks": {"caller": "", "resolution": None},
    "appointments": {"caller": None},
    "sms_outbox": {"to": "", "body": ""},
    "callback_attempts": {"to": ""},
    "survey_responses": {"call_id": None, "callback_id": None},
}
"""What is blanked in rows that are kept (their ids and statuses are the city's records)."""
UNSENT = {"queued": "failed", "sending": "failed"}
UNBOOKED = {"callbacks": "booked", "appointments": "booked"}
"""A callback or visit still to come is cancelled: its place is free for someone else."""


class OpenTickets(Exception):
    """The number has open tickets and the erasure was not forced."""

    def __init__(self, refs: list[str]) -> None:
        super().__init__(
            f"open tickets {', '.join(refs)}: erase with --force to anonymise them "
            "(they stay open, but nobody can call or text the caller back)"
        )
        self.refs = refs


@dataclass
class Erasure:
    number: str
    """Masked."""
    deleted: dict[str, int] = field(default_factory=dict)
    anonymised: dict[str, int] = field(default_factory=dict)
    files_deleted: list[str] = field(default_factory=list)
    files_missing: list[str] = field(default_factory=list)
    open_tickets: list[str] = field(default_factory=list)


def erase(
    database: Database,
    subject: Subject,
    recordings: RecordingFiles,
    *,
    actor: str,
    at: datetime,
    force: bool = False,
) -> Erasure:
    with database.session() as session:
        if database.dialect == "sqlite":  # overwrite what is deleted, not only unlink it
            session.execute(text("PRAGMA secure_delete = ON"))
        held = find(session, subject)
        if held.open_tickets and not force:
            raise OpenTickets(held.open_tickets)
        report = Erasure(subject.masked, open_tickets=held.open_tickets)
        files = _erase_rows(session, held, report)
        audit(
            session,
            actor=actor,
            action="privacy.erase",
            target=subject.masked,
            details={
                "deleted": report.deleted,
                "anonymised": report.anonymised,
                "recording_files": len(files),
                "open_tickets_kept": report.open_tickets,
            },
            at=at,
        )
    if database.dialect == "sqlite":  # old pages out of the write-ahead log
        connection = database.engine.raw_connection()
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
    for key in files:
        found = recordings.delete(key)
        (report.files_deleted if found else report.files_missing).append(key)
    return report


def _erase_rows(session: Session, held: Holdings, report: Erasure) -> list[str]:
    """Delete or blank every row held about the number; the recording files to delete."""
    files: list[str] = []
    for table in reversed(personal_tables()):
        rows = rows_of(session, table, held)
        if not rows:
            continue
        if table.name == "recordings":
            files += [row["path"] for row in rows]
        if table.name in DELETED or (
            table.name not in ANONYMISED and _linked_to_calls(table, rows, held)
        ):
            for row in rows:
                session.execute(delete(table).where(_key(table, row)))
            report.deleted[table.name] = len(rows)
            continue
        for row in rows:
            changes = {**ANONYMISED.get(table.name, {}), **_status(table.name, row)}
            changes.update(_scrubbed(table, row, held.subject, changes))
            if changes:
                session.execute(update(table).where(_key(table, row)).values(**changes))
        report.anonymised[table.name] = len(rows)
    return files


def _linked_to_calls(table: Table, rows: list[dict[str, Any]], held: Holdings) -> bool:
    """Rows of a table no rule names that belong to the number's calls (not mere mentions)."""
    links = [c for c in ("call_id", "call_sid") if c in table.c]
    return bool(links) and all(any(row[c] in held.call_ids for c in links) for row in rows)


def _status(table: str, row: dict[str, Any]) -> dict[str, Any]:
    if table == "sms_outbox" and row["status"] in UNSENT:
        return {"status": UNSENT[row["status"]], "error": "erased on request"}
    if table in UNBOOKED and row["status"] == UNBOOKED[table]:
        return {"status": "cancelled"}
    return {}


def _scrubbed(
    table: Table, row: dict[str, Any], subject: Subject, changes: dict[str, Any]
) -> dict[str, Any]:
    """Text columns left that still mention the number, with the mention replaced."""
    scrubbed = {}
    for column in text_columns(table):
        if column in changes:
            continue
        value = _scrub(row[column], subject.national)
        if value != row[column]:
            scrubbed[column] = value
    return scrubbed


def _scrub(value: Any, national: str) -> Any:
    if isinstance(value, str):
        return ERASED if national in value else value
    if isinstance(value, dict):
        return {key: _scrub(item, national) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, national) for item in value]
    return value


def _key(table: Table, row: dict[str, Any]) -> Any:
    return and_(*(column == row[column.name] for column in table.primary_key.columns))
