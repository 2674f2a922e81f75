"""Calls as they happen: the flow version they run on, each event and action in order, and
how they ended. The shell commits every row at once, so a call can be rebuilt by any process
(DESIGN §1, §3) and the live view shows it while it lasts."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.storage import stats, surveys
from ivr.storage.models import Call, CallEvent, FlowVersion
from ivr.storage.upsert import insert_statement


def save_flow_version(session: Session, version: str, source: str, path: str, at: datetime) -> None:
    """Keep a flow's text under its content hash; saving the same version again changes
    nothing (the first load time stays)."""
    statement = (
        insert_statement(session, FlowVersion)
        .values(hash=version, source=source, path=path, first_loaded_at=at)
        .on_conflict_do_nothing(index_elements=[FlowVersion.hash])
    )
    session.execute(statement)


def flow_source(session: Session, version: str) -> str | None:
    """The text of flow `version`, or None when it was never saved."""
    return session.scalar(select(FlowVersion.source).where(FlowVersion.hash == version))


def start_call(
    session: Session,
    *,
    call_id: str,
    caller: str | None,
    channel: str,
    flow_version: str,
    language: str | None,
    at: datetime,
    carried_by: str | None = None,
) -> Call:
    call = Call(
        id=call_id,
        caller=caller,
        channel=channel,
        flow_version=flow_version,
        language=language,
        started_at=at,
        carried_by=carried_by,
    )
    session.add(call)
    session.flush()
    return call


def append_event(
    session: Session,
    *,
    call_id: str,
    seq: int,
    kind: str,
    type: str,
    payload: dict[str, Any],
    at: datetime,
    stored_at: datetime | None = None,
) -> None:
    """Store one event (`kind="event"`) or action (`kind="action"`) of a call, already
    redacted; `seq` orders them and is unique within the call; `stored_at` is when the runner
    took it (wall clock)."""
    session.add(
        CallEvent(
            call_id=call_id,
            seq=seq,
            kind=kind,
            type=type,
            payload=payload,
            at=at,
            stored_at=stored_at,
        )
    )
    session.flush()


def set_current_node(session: Session, call_id: str, node: str) -> None:
    _call(session, call_id).current_node = node


def set_language(session: Session, call_id: str, language: str | None) -> None:
    """Keep the caller's language once it is known (chosen on the line, after the start)."""
    if language is not None:
        _call(session, call_id).language = language


def finish_call(
    session: Session,
    *,
    call_id: str,
    at: datetime,
    outcome: str,
    department: str | None,
    ticket_id: int | None,
    zone: ZoneInfo,
) -> None:
    """End a call and count it in the dashboard's summaries (by local days of `zone`, the
    flow's), in the same transaction."""
    call = _call(session, call_id)
    call.ended_at = at
    call.outcome = outcome
    call.department = department
    call.ticket_id = ticket_id
    events = call_events(session, call_id)
    call.transcript = transcript(events)
    stats.count_finished_call(session, call, events, zone)
    surveys.count_call_survey(session, call, zone)


def transcript(events: list[CallEvent]) -> str | None:
    """The words the caller said, in order (None when they said nothing)."""
    said = [
        str(row.payload.get("text") or "")
        for row in events
        if row.kind == "event" and row.type == "SpeechRecognized"
    ]
    return " / ".join(text for text in said if text) or None


def call_events(session: Session, call_id: str) -> list[CallEvent]:
    """A call's events and actions in the order they happened."""
    statement = select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.seq)
    return list(session.scalars(statement))


def since_last_event(session: Session, call_id: str) -> list[CallEvent]:
    """The call's last event and the actions it gave (what the engine said to it last)."""
    last = (
        select(func.max(CallEvent.seq))
        .where(CallEvent.call_id == call_id, CallEvent.kind == "event")
        .scalar_subquery()
    )
    statement = (
        select(CallEvent)
        .where(CallEvent.call_id == call_id, CallEvent.seq >= last)
        .order_by(CallEvent.seq)
    )
    return list(session.scalars(statement))


def _call(session: Session, call_id: str) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise LookupError(f"no call {call_id!r}")
    return call
