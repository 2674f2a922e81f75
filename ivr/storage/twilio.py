"""Twilio's side of calls in the database: one-time stream tokens, status callbacks, call
ends and the recordings Twilio made for us.

A token is kept only as its SHA-256 and redeemed once (an UPDATE that only one request can
win), within TOKEN_LIFETIME of being issued; the browser phone's stream uses the same
tokens. While a stream is open, the `ivr serve` worker holding it carries the call
(`calls.carried_by`, see `line_nodes`). Status callbacks are stored once per (CallSid,
SequenceNumber) and a call's status only moves forward: a late `ringing` never undoes
`in-progress` or `completed`. A call's end is claimed once (`claim_call_end`), by the
stream's `stop` or a final status callback, whichever comes first. A recording is kept once
per RecordingSid, with the job that downloads it enqueued in the same transaction.

A gather-mode description reaches its ticket whatever the order of the three requests a
hang-up during `<Record>` brings (the Record action, the final status callback, the recording
callback): when the status comes first, the engine files the draft ticket before it hears
the recording (its Record action comes to an ended call), so the draft has none. The
recording is then linked by storage, not by the dialog: by its callback if the draft is
filed, or by the filing if the callback came first (`link_unheard_description`, both under
the call's lock). Its transcription follows the link and the download (`transcriptions`).

A recording that will never be downloaded (Twilio reports it failed or absent, or the job
gives up on it: `note_lost`) keeps its reason on its row (`problem`) and, in the same
transaction, on each ticket that links it (`transcriptions.note_lost_on`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.storage import transcriptions
from ivr.storage.models import (
    Call,
    CallEvent,
    Ticket,
    TwilioCallEnd,
    TwilioCallStatus,
    TwilioRecording,
    TwilioStreamToken,
)
from ivr.storage.queue import enqueue
from ivr.storage.upsert import insert_once

STATUS_ORDER = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "failed": 4,
    "no-answer": 4,
    "canceled": 4,
}
FINAL_STATUSES = frozenset(s for s, rank in STATUS_ORDER.items() if rank == 4)
DOWNLOAD_RECORDING = "twilio.recording"
"""The job that downloads a Twilio recording into the store, then deletes it at Twilio."""
DOWNLOAD_ATTEMPTS = 8
TWILIO_PROBLEMS = {
    "failed": "the recording failed at Twilio (RecordingStatus failed)",
    "absent": "Twilio has no audio for the recording (RecordingStatus absent)",
}
"""What a recording callback's RecordingStatus other than completed means, for people."""
CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")
RECORDING_SID = re.compile(r"^RE[0-9a-f]{32}$")


def issue_token(
    session: Session, call_sid: str, actions: list[dict[str, Any]], at: datetime
) -> str:
    """A new one-time token for a stream of `call_sid` that starts with `actions`."""
    token = secrets.token_urlsafe(24)
    session.add(
        TwilioStreamToken(
            token_hash=_digest(token),
            call_sid=call_sid,
            actions={"actions": actions},
            issued_at=at,
            used_at=None,
        )
    )
    session.flush()
    return token


TOKEN_LIFETIME = timedelta(minutes=2)
"""A stream starts seconds after its token is issued (TwiML fetched, Call pressed)."""


def redeem_token(
    session: Session, token: str, call_sid: str, at: datetime, node: str | None = None
) -> list[dict[str, Any]] | None:
    """The first actions of the stream `token` was issued for, once; None when the token is
    unknown, used already, expired or issued for another call. The stream's `node` (an
    `ivr serve` worker) carries the call from now on (`line_nodes`)."""
    digest = _digest(token)
    issued = session.get(TwilioStreamToken, digest)
    if issued is None or issued.call_sid != call_sid or at - issued.issued_at > TOKEN_LIFETIME:
        return None
    actions = list(issued.actions["actions"])
    won = session.execute(
        update(TwilioStreamToken)
        .where(TwilioStreamToken.token_hash == digest, TwilioStreamToken.used_at.is_(None))
        .values(used_at=at, actions={"actions": []})
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        return None
    if node is not None:
        _carried_by(session, call_sid, node)
    return actions


def record_status(
    session: Session, call_sid: str, sequence_number: int, status: str, at: datetime
) -> bool:
    """Keep one status callback; False when this (CallSid, SequenceNumber) came already."""
    values = dict(call_sid=call_sid, sequence_number=sequence_number, status=status, received_at=at)
    key = [TwilioCallStatus.call_sid, TwilioCallStatus.sequence_number]
    return insert_once(session, TwilioCallStatus, values, key)


def call_status(session: Session, call_sid: str) -> str | None:
    """The furthest status Twilio reported for the call, whatever order the callbacks came in."""
    statuses = session.scalars(
        select(TwilioCallStatus.status).where(TwilioCallStatus.call_sid == call_sid)
    ).all()
    return max(statuses, key=lambda s: STATUS_ORDER.get(s, -1), default=None)


def end_stream(session: Session, token: str, node: str | None = None) -> None:
    """The stream `token` started is over: its `node` no longer carries the call."""
    row = session.get(TwilioStreamToken, _digest(token))
    if row is None:
        return
    row.actions = {"actions": [], "ended": True}
    if node is not None:
        _carried_by(session, row.call_sid, None, if_by=node)


def stream_live(session: Session, call_sid: str) -> bool:
    """A stream of the call started and has not ended: it will see the call end itself."""
    return bool(_live_streams(session, call_sid))


def end_live_streams(session: Session, call_sid: str) -> int:
    """Mark the call's live streams over: those whose process died without saying so (Twilio
    has moved on to the `<Connect>`'s action). How many there were."""
    orphaned = _live_streams(session, call_sid)
    for row in orphaned:
        row.actions = {"actions": [], "ended": True}
    if orphaned:
        _carried_by(session, call_sid, None)
    return len(orphaned)


def _live_streams(session: Session, call_sid: str) -> list[TwilioStreamToken]:
    used = session.scalars(
        select(TwilioStreamToken).where(
            TwilioStreamToken.call_sid == call_sid, TwilioStreamToken.used_at.is_not(None)
        )
    )
    return [row for row in used if not row.actions.get("ended")]


def claim_call_end(session: Session, call_sid: str, source: str, at: datetime) -> bool:
    """True for the first of the stream and the status callback to say the call ended: only
    that one tells the engine the caller hung up."""
    values = dict(call_sid=call_sid, source=source, at=at)
    return insert_once(session, TwilioCallEnd, values, [TwilioCallEnd.call_sid])


def record_recording(
    session: Session, recording_sid: str, call_sid: str, kind: str, status: str, at: datetime
) -> bool:
    """Keep a recording callback once per RecordingSid; a completed recording gets its
    download job in the same transaction, and a description the call's draft ticket lacks
    is linked to it; a failed or absent one is said so on the tickets that link it. False
    when this RecordingSid came already."""
    transcriptions.lock_call(session, call_sid)
    problem = None if status == "completed" else TWILIO_PROBLEMS.get(status, status)
    values = dict(
        recording_sid=recording_sid,
        call_sid=call_sid,
        kind=kind,
        status=status,
        received_at=at,
        problem=problem,
    )
    if not insert_once(session, TwilioRecording, values, [TwilioRecording.recording_sid]):
        return False
    if problem is not None:
        transcriptions.note_lost_for_linked(session, call_sid, recording_sid, problem, at)
    if status == "completed":
        payload = {"recording_sid": recording_sid}
        enqueue(session, DOWNLOAD_RECORDING, payload, at=at, max_attempts=DOWNLOAD_ATTEMPTS)
        if kind == "description":
            draft = _draft_without_recording(session, call_sid)
            if draft is not None:
                link_unheard_description(session, draft, at)
    return True


def link_unheard_description(session: Session, draft: Ticket, at: datetime) -> str | None:
    """Link to `draft` (a ticket its call filed at the hang-up, without a recording) the
    call's latest completed description recording that the engine never heard and no ticket
    has, and queue its transcription if its file is here; the caller holds the call's lock.
    A recording the engine heard was either taken (its ticket links it) or refused (too
    short), so it is never the one the hang-up cut off. The recording linked, or None."""
    if draft.recording_id is not None or draft.call_id is None:
        return None
    call_sid = draft.call_id
    linked = select(Ticket.id).where(
        Ticket.call_id == call_sid, Ticket.recording_id == TwilioRecording.recording_sid
    )
    unlinked = session.scalars(
        select(TwilioRecording.recording_sid)
        .where(
            TwilioRecording.call_sid == call_sid,
            TwilioRecording.kind == "description",
            TwilioRecording.status == "completed",
            ~linked.exists(),
        )
        .order_by(TwilioRecording.received_at.desc())
    ).all()
    if not unlinked:
        return None
    heard = session.scalars(
        select(CallEvent.payload).where(
            CallEvent.call_id == call_sid,
            CallEvent.kind == "event",
            CallEvent.type == "RecordingFinished",
        )
    )
    heard_ids = {payload.get("recording_id") for payload in heard}
    recording_sid = next((sid for sid in unlinked if sid not in heard_ids), None)
    if recording_sid is None:
        return None
    draft.recording_id = recording_sid
    transcriptions.queue_if_here(session, draft, at)
    return recording_sid


def _draft_without_recording(session: Session, call_sid: str) -> Ticket | None:
    """The draft ticket the call filed at its hang-up, if it has no recording."""
    return session.scalars(
        select(Ticket).where(
            Ticket.call_id == call_sid, Ticket.draft, Ticket.recording_id.is_(None)
        )
    ).first()


def note_downloaded(session: Session, recording_sid: str, recording_id: str, at: datetime) -> None:
    """The recording's file is in the store under `recording_id`: noted under the call's
    lock, with the transcription of each ticket that links it queued (`transcriptions`)."""
    of_recording = TwilioRecording.recording_sid == recording_sid
    call_sid = session.scalars(select(TwilioRecording.call_sid).where(of_recording)).one()
    transcriptions.lock_call(session, call_sid)
    row = session.get_one(TwilioRecording, recording_sid)  # read after the lock
    if row.recording_id is not None:
        return  # noted by an earlier run of the job, transcriptions with it
    row.recording_id, row.downloaded_at = recording_id, at
    transcriptions.queue_for_linked(session, call_sid, recording_sid, at)


def note_lost(session: Session, recording_sid: str, problem: str, at: datetime) -> None:
    """The recording will never be downloaded (`problem` says why): kept on its row and,
    under the call's lock, on each ticket that links it."""
    of_recording = TwilioRecording.recording_sid == recording_sid
    call_sid = session.scalars(select(TwilioRecording.call_sid).where(of_recording)).one()
    transcriptions.lock_call(session, call_sid)
    session.get_one(TwilioRecording, recording_sid).problem = problem
    transcriptions.note_lost_for_linked(session, call_sid, recording_sid, problem, at)


def _carried_by(
    session: Session, call_sid: str, node: str | None, *, if_by: str | None = None
) -> None:
    """Set the node holding the call's stream (`line_nodes`); with `if_by`, only while that
    node holds it (a stream that ends leaves a newer stream's node in place)."""
    statement = update(Call).where(Call.id == call_sid)
    if if_by is not None:
        statement = statement.where(Call.carried_by == if_by)
    session.execute(statement.values(carried_by=node).execution_options(synchronize_session=False))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
