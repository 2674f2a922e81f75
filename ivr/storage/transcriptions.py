"""When a ticket's recorded description is transcribed ("speech.transcribe", speech/job.py):
once the ticket links the recording *and* its file is in the store, queued by whichever of
the two comes second, so the job never waits for the file.

A Media Stream or browser description is stored before the ticket that links it is filed:
filing queues the job. A description Twilio recorded (gather mode) is linked by its
RecordingSid before its file is downloaded (`webhooks.recordings`), or its file arrives
before the ticket it belongs to is linked to it (a hang-up during `<Record>`,
`ivr.storage.twilio.link_unheard_description`). A job queued at filing that waited for the
download could give up after its attempts while Twilio or the worker was slow, and the
ticket would never be transcribed; one queued by the second of link and download has nothing
to wait for, so it cannot be lost that way, and it is queued once.

Once is kept under concurrency by the call's row lock (`lock_call`): filing a ticket with
a recording, linking a recording to a ticket and noting a download each take it before they
look at the other side, so of two running at once the later sees the earlier's commit (on
SQLite the write transactions run one at a time anyway). A Twilio recording counts as here
only when its download is noted (`TwilioRecording.recording_id`), which happens under that
lock, not when the store's row is written just before.

A recording Twilio made that will never be here (Twilio reported it failed or absent, or its
download failed for good) is said so on each ticket that links it, under the same lock and
in the transaction that records the failure, whichever of the link and the failure comes
second (`note_lost_on`): an internal note the supervisor reads on the ticket's page, and the
`{"note": …}` a transcription job leaves when it cannot transcribe (speech/job.py), unless
the ticket has a transcript already.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.models import Call, Recording, Ticket, TicketNote, TwilioRecording
from ivr.storage.queue import enqueue

TRANSCRIBE = "speech.transcribe"
"""The job that transcribes a ticket's recorded description (speech/job.py)."""
TRANSCRIBE_ATTEMPTS = 3
NOTE_AUTHOR = "civicline"
"""The author of the notes civicline itself writes on a ticket."""


def lock_call(session: Session, call_id: str | None) -> None:
    """Hold the call's row until the transaction ends (PostgreSQL; SQLite's write
    transactions are serial already)."""
    if call_id is not None:
        session.execute(select(Call.id).where(Call.id == call_id).with_for_update())


def file_here(session: Session, recording_id: str) -> bool:
    """The recording is in the store for good: stored, and for one Twilio made, its
    download noted."""
    if session.get(Recording, recording_id) is None:
        return False
    at_twilio = session.get(TwilioRecording, recording_id)
    return at_twilio is None or at_twilio.recording_id is not None


def queue_if_here(session: Session, ticket: Ticket, at: datetime) -> bool:
    """Queue the transcription of `ticket`'s recording if its file is here (the caller holds
    the call's lock); otherwise the download will. Whether it was queued."""
    if ticket.recording_id is None or not file_here(session, ticket.recording_id):
        problem = lost(session, ticket.recording_id) if ticket.recording_id else None
        if problem is not None:
            note_lost_on(session, ticket, problem, at)
        return False
    payload = {"ticket_id": ticket.id, "recording_id": ticket.recording_id}
    enqueue(session, TRANSCRIBE, payload, at=at, max_attempts=TRANSCRIBE_ATTEMPTS)
    return True


def queue_note_if_here(session: Session, note: TicketNote, ticket: Ticket, at: datetime) -> bool:
    """Queue the transcription of a note said on the phone if its file is here; otherwise
    its download will (`queue_for_linked`). Whether it was queued."""
    if note.recording_id is None or not file_here(session, note.recording_id):
        return False
    payload = {"ticket_id": ticket.id, "recording_id": note.recording_id, "note_id": note.id}
    enqueue(session, TRANSCRIBE, payload, at=at, max_attempts=TRANSCRIBE_ATTEMPTS)
    return True


def queue_for_linked(session: Session, call_id: str, recording_id: str, at: datetime) -> int:
    """A recording of call `call_id` was just downloaded (its download noted under the call's
    lock): queue the transcription of each ticket of the call that links it already, and of
    a citizen's note that is this recording. How many were queued."""
    of_call = select(Ticket).where(Ticket.call_id == call_id)
    linked = session.scalars(of_call.where(Ticket.recording_id == recording_id)).all()
    for ticket in linked:
        payload = {"ticket_id": ticket.id, "recording_id": recording_id}
        enqueue(session, TRANSCRIBE, payload, at=at, max_attempts=TRANSCRIBE_ATTEMPTS)
    notes = session.scalars(select(TicketNote).where(TicketNote.recording_id == recording_id))
    queued = 0
    for note in notes:
        payload = {"ticket_id": note.ticket_id, "recording_id": recording_id, "note_id": note.id}
        enqueue(session, TRANSCRIBE, payload, at=at, max_attempts=TRANSCRIBE_ATTEMPTS)
        queued += 1
    return len(linked) + queued


def lost(session: Session, recording_id: str) -> str | None:
    """Why a recording Twilio made will never be here, or None (it is here, or may come)."""
    at_twilio = session.get(TwilioRecording, recording_id)
    if at_twilio is None or at_twilio.recording_id is not None:
        return None
    return at_twilio.problem


def note_lost_for_linked(
    session: Session, call_id: str, recording_id: str, problem: str, at: datetime
) -> int:
    """A recording of call `call_id` will never be here (`problem` says why; the caller
    holds the call's lock): say so on each ticket of the call that links it. How many."""
    of_call = select(Ticket).where(Ticket.call_id == call_id)
    linked = session.scalars(of_call.where(Ticket.recording_id == recording_id)).all()
    for ticket in linked:
        note_lost_on(session, ticket, problem, at)
    return len(linked)


def note_lost_on(session: Session, ticket: Ticket, problem: str, at: datetime) -> None:
    """Say on `ticket` that its recording will never be transcribed, once: an internal note,
    and the transcript's note unless it has a transcript already."""
    note = f"The recorded description will not be transcribed: {problem}"
    if ticket.transcript is None:
        ticket.transcript = {"note": f"not transcribed: {problem}", "language": ticket.language}
    noted = select(TicketNote.id).where(
        TicketNote.ticket_id == ticket.id, TicketNote.kind == "note", TicketNote.body == note
    )
    if session.scalars(noted).first() is None:
        session.add(
            TicketNote(
                ticket_id=ticket.id,
                kind="note",
                body=note,
                author=NOTE_AUTHOR,
                source="civicline",
                at=at,
            )
        )
