"""The citizen's own follow-ups on their report, by phone or SMS (issue 23): a note added
to it, and the answer to "is the problem solved?" that closes or reopens it. Each is a
ticket note with its source, and what the department should know (a note, a reopening)
is e-mailed to it when it opted in (`ivr.email.notices`). Who may do this (the report's
owner) is decided before: by the PIN or caller ID on the line, the sender's number by SMS.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ivr.email.notices import tell_department
from ivr.storage import stats, transcriptions
from ivr.storage.models import Recording, Ticket, TicketNote
from ivr.storage.tickets import set_status
from menus.schema import Flow
from routing import statuses

AUTHOR = "citizen"
MAX_NOTE = 1000
"""A note by SMS is cut here (an SMS of many segments is still one note)."""


def add_note(
    session: Session,
    flow: Flow,
    ticket: Ticket,
    *,
    source: str,
    at: datetime,
    body: str = "",
    recording_id: str | None = None,
) -> TicketNote:
    """Add the citizen's note: text, or a recording whose transcript becomes its body (the
    transcription job is queued once its file is here)."""
    note = TicketNote(
        ticket_id=ticket.id,
        kind="note",
        body=body[:MAX_NOTE],
        author=AUTHOR,
        source=source,
        recording_id=recording_id,
        at=at,
    )
    session.add(note)
    session.flush()
    ticket.updated_at = at
    if recording_id is not None:
        recording = session.get(Recording, recording_id)
        if recording is not None and recording.ticket_id is None:
            recording.ticket_id = ticket.id
        transcriptions.queue_note_if_here(session, note, ticket, at)
    tell_department(session, flow, ticket, "note", at, note=note)
    return note


def mark_solved(
    session: Session, flow: Flow, ticket: Ticket, *, solved: bool, source: str, at: datetime
) -> TicketNote | None:
    """Close the report (solved) or reopen it (not solved) and tell the department; None
    when its status allows neither (a rejected report, one already as asked)."""
    allowed = statuses.CLOSABLE if solved else statuses.REOPENABLE
    if ticket.status not in allowed:
        return None
    before = ticket.status
    status, kind = ("closed", "closed") if solved else (statuses.REOPENED, "reopened")
    said = "solved" if solved else "not solved"
    set_status(session, ticket, status, f"{AUTHOR} ({source})", at, note=f"the citizen: {said}")
    if status in stats.CLOSED_STATUSES and before not in stats.CLOSED_STATUSES:
        day = at.astimezone(ZoneInfo(flow.city.timezone)).date()
        stats.count_tickets(session, day, ticket.department, closed=1)
    note = TicketNote(ticket_id=ticket.id, kind=kind, body="", author=AUTHOR, source=source, at=at)
    session.add(note)
    session.flush()
    if not solved:
        tell_department(session, flow, ticket, "reopened", at, note=note)
    return note
