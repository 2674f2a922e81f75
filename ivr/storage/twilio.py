"""Twilio's side of calls in the database: one-time stream tokens, status callbacks, call
ends and the recordings Twilio made for us.

A token is kept only as its SHA-256 and redeemed once (an UPDATE that only one request can
win), within TOKEN_LIFETIME of being issued; the browser phone's stream uses the same
tokens. Status callbacks are stored once per (CallSid, SequenceNumber) and a call's status only
moves forward: a late `ringing` never undoes `in-progress` or `completed`. A call's end is
claimed once (`claim_call_end`), by the stream's `stop` or a final status callback, whichever
comes first. A recording is kept once per RecordingSid, with the job that downloads it
enqueued in the same transaction; until it is downloaded, `download_pending` says so.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.storage.models import (
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
    session: Session, token: str, call_sid: str, at: datetime
) -> list[dict[str, Any]] | None:
    """The first actions of the stream `token` was issued for, once; None when the token is
    unknown, used already, expired or issued for another call."""
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
    return actions if won.rowcount == 1 else None  # type: ignore[attr-defined]


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


def end_stream(session: Session, token: str) -> None:
    """The stream `token` started is over."""
    session.execute(
        update(TwilioStreamToken)
        .where(TwilioStreamToken.token_hash == _digest(token))
        .values(actions={"actions": [], "ended": True})
        .execution_options(synchronize_session=False)
    )


def stream_live(session: Session, call_sid: str) -> bool:
    """A stream of the call started and has not ended: it will see the call end itself."""
    used = session.scalars(
        select(TwilioStreamToken.actions).where(
            TwilioStreamToken.call_sid == call_sid, TwilioStreamToken.used_at.is_not(None)
        )
    )
    return any(not actions.get("ended") for actions in used)


def claim_call_end(session: Session, call_sid: str, source: str, at: datetime) -> bool:
    """True for the first of the stream and the status callback to say the call ended: only
    that one tells the engine the caller hung up."""
    values = dict(call_sid=call_sid, source=source, at=at)
    return insert_once(session, TwilioCallEnd, values, [TwilioCallEnd.call_sid])


def record_recording(
    session: Session, recording_sid: str, call_sid: str, kind: str, status: str, at: datetime
) -> bool:
    """Keep a recording callback once per RecordingSid; a completed recording gets its
    download job in the same transaction. False when this RecordingSid came already."""
    values = dict(
        recording_sid=recording_sid, call_sid=call_sid, kind=kind, status=status, received_at=at
    )
    if not insert_once(session, TwilioRecording, values, [TwilioRecording.recording_sid]):
        return False
    if status == "completed":
        payload = {"recording_sid": recording_sid}
        enqueue(session, DOWNLOAD_RECORDING, payload, at=at, max_attempts=DOWNLOAD_ATTEMPTS)
    return True


def download_pending(session: Session, recording_id: str) -> bool:
    """`recording_id` is a recording Twilio made (kept under its RecordingSid) that is not in
    the store yet but may still come: its callback has not arrived, or its download has not
    finished. False once Twilio reported it failed or it could not be downloaded."""
    if not RECORDING_SID.match(recording_id):
        return False
    row = session.get(TwilioRecording, recording_id)
    if row is None:
        return True
    return row.status == "completed" and row.recording_id is None and row.problem is None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
