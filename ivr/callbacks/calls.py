"""What the calls of a callback report back, channel-neutral: a leg answered or ended, the
officer's resolution key, the citizen's "satisfied?" key and survey score.

Each report is applied once and only forward: an attempt's status moves along the call
status order (`ivr.storage.twilio.STATUS_ORDER`), and what follows a status (calling the
citizen, the retry, the "missed" SMS) happens only on the change that reaches it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.callbacks.jobs import CALL_ATTEMPTS, CONNECT, RETRY_AFTER
from ivr.callbacks.texts import missed, send_resolution, tell_escalated
from ivr.storage import escalations, surveys
from ivr.storage.models import Callback, CallbackAttempt, Ticket, TicketNote
from ivr.storage.queue import enqueue
from ivr.storage.twilio import STATUS_ORDER
from menus.schema import Flow

ANSWERED = "in-progress"
NOT_REACHED = ("busy", "no-answer", "failed", "canceled")
RESOLUTIONS = {"1": "resolved", "2": "in_progress"}


def leg_status(
    session: Session,
    flow: Flow,
    callback_id: int,
    leg: str,
    number: int,
    call_sid: str,
    status: str,
    at: datetime,
) -> bool:
    """Apply one status of attempt `number` of a leg's call; False when it is not news
    (repeated, late, unknown). The first report names the attempt's call id, also when the
    worker never heard Twilio's answer to its request."""
    attempt = session.scalars(
        select(CallbackAttempt)
        .where(
            CallbackAttempt.callback_id == callback_id,
            CallbackAttempt.leg == leg,
            CallbackAttempt.number == number,
        )
        .with_for_update()
    ).first()
    if attempt is None or status not in STATUS_ORDER:
        return False
    if attempt.provider_sid is None:
        attempt.provider_sid = call_sid
    elif attempt.provider_sid != call_sid:
        return False  # a call this attempt did not end up with
    known = STATUS_ORDER.get(attempt.status, -1)
    if STATUS_ORDER[status] <= known:
        return False
    reached = attempt.status == ANSWERED
    attempt.status = status
    callback = session.get_one(Callback, callback_id)
    if status == ANSWERED and attempt.leg == "officer":
        enqueue(session, CONNECT, {"callback_id": callback_id, "attempt": 1}, at=at)
    elif status == ANSWERED:
        callback.status = "answered"
    elif STATUS_ORDER[status] == STATUS_ORDER["completed"]:
        attempt.ended_at = at
        if status in NOT_REACHED and not reached:
            _not_reached(session, flow, callback, attempt, at)
        elif status == "completed" and attempt.leg == "citizen" and callback.status == "placed":
            callback.status = "answered"
    return True


def _not_reached(
    session: Session, flow: Flow, callback: Callback, attempt: CallbackAttempt, at: datetime
) -> None:
    if callback.status != "placed":
        return
    if attempt.number < CALL_ATTEMPTS:
        payload: dict[str, object] = {"callback_id": callback.id, "attempt": attempt.number + 1}
        if attempt.leg == "officer":
            payload["slot"] = callback.slot_start.isoformat()
        kind = CONNECT if attempt.leg == "citizen" else "callback.place"
        enqueue(session, kind, payload, at=at, run_after=at + RETRY_AFTER)
    elif attempt.leg == "citizen":
        missed(session, flow, callback, at, "the citizen did not answer twice")
    else:
        callback.status, callback.outcome = "missed", "the officer did not answer twice"
        callback.done_at = at


def resolution(session: Session, flow: Flow, callback_id: int, key: str, at: datetime) -> bool:
    """The officer's key after the call: 1 resolved, 2 not yet; noted on the ticket and
    sent to the citizen. False for another key or a callback already resolved."""
    callback = session.get(Callback, callback_id)
    if callback is None or key not in RESOLUTIONS or callback.resolution is not None:
        return False
    status = RESOLUTIONS[key]
    language = flow.language_or_default(callback.language)
    said = flow.texts.statuses[status][language] if status in flow.texts.statuses else status
    callback.outcome, callback.resolution, callback.done_at = status, said, at
    ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
    if ticket is not None:
        body = f"Callback {callback.id}: {status}"
        session.add(
            TicketNote(ticket_id=ticket.id, kind="note", body=body, author="officer", at=at)
        )
    send_resolution(session, flow, callback, said, at)
    return True


def not_satisfied(session: Session, flow: Flow, callback_id: int, at: datetime) -> bool:
    """The citizen's key after the call asks for the next level: one level up, once."""
    callback = session.get(Callback, callback_id)
    ticket = session.get(Ticket, callback.ticket_id) if callback and callback.ticket_id else None
    if ticket is None:
        return False
    step = escalations.escalate(session, flow, ticket, reason="not_satisfied", at=at)
    if step is None:
        return False
    tell_escalated(session, flow, ticket, step.callback_id, at)
    return True


def score(session: Session, callback_id: int, key: str, language: str, at: datetime) -> bool:
    """The citizen's survey key after the callback (1–5), kept once."""
    if key not in ("1", "2", "3", "4", "5") or session.get(Callback, callback_id) is None:
        return False
    return surveys.record_survey(
        session, kind="callback", score=int(key), language=language, at=at, callback_id=callback_id
    )
