"""Reports the caller gave but storage could not file: filed once storage is back.

When a ticket's write fails, the caller hears an apology and is offered a human, and the
report lives on only in the call's stored events: its CreateTicket action (category,
district, description, recording) and the StorageFailed that answered it. A call that ended
so, with no ticket of its own, is found by the worker's sweep (`ivr.calls.stale`), and its
report filed from that action as it was asked for (the caller had confirmed it), its
TicketCreated stored in the call's events (so it is filed once) and its SMS copy queued.
A call whose process died is not here: the sweeper's hang-up files it as a draft.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from ivr.calls.effects import Effects
from ivr.calls.runner import CallServices
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.records import to_record
from ivr.engine.render import fill
from ivr.storage import calls, outbox, tickets
from ivr.storage.models import Call, CallEvent, Ticket
from menus.loader import load_stored_flow
from menus.schema import Flow

logger = logging.getLogger(__name__)
_CREATE_TICKET = TypeAdapter(act.CreateTicket)


def unfiled_calls(services: CallServices) -> list[str]:
    """Ended calls whose ticket write failed and that have no ticket: their ids."""
    with services.database.session(read_only=True) as db:
        rows = db.execute(
            select(CallEvent.call_id, CallEvent.payload)
            .join(Call, Call.id == CallEvent.call_id)
            .where(
                CallEvent.type == ev.StorageFailed.__name__,
                Call.ended_at.is_not(None),
                ~exists().where(Ticket.call_id == CallEvent.call_id),
            )
        ).all()
    found = {call_id for call_id, payload in rows if payload.get("action") == "CreateTicket"}
    return sorted(found)


def file_unfiled(services: CallServices, now: datetime) -> list[str]:
    """File the report of every such call; the registration numbers given. While storage
    still fails, nothing: the next sweep tries again."""
    try:
        waiting = unfiled_calls(services)
    except SQLAlchemyError:
        logger.warning("unfiled reports cannot be looked for: storage still fails")
        return []
    refs = []
    for call_id in waiting:
        ref = _file(services, call_id, now)
        if ref is not None:
            logger.info("call %s: its unfiled report is filed as %s", call_id, ref)
            refs.append(ref)
    return refs


def _file(services: CallServices, call_id: str, now: datetime) -> str | None:
    with services.database.session(read_only=True) as db:
        call = db.get_one(Call, call_id)
        rows = calls.call_events(db, call_id)
        source = calls.flow_source(db, call.flow_version)
    asked = [_CREATE_TICKET.validate_python(r.payload) for r in rows if r.type == "CreateTicket"]
    if not asked or source is None:
        return None
    action = next((a for a in reversed(asked) if not a.draft), asked[-1])
    flow = load_stored_flow(source, f"stored flow {call.flow_version[:12]}").flow
    answer = Effects(services.database, flow, call_id).carry_out(action, now)
    if not isinstance(answer, ev.TicketCreated):
        return None  # storage is still failing: the next sweep tries again
    with services.database.session() as db:
        type_name, payload = to_record(answer.redacted())
        last = calls.call_events(db, call_id)[-1].seq
        calls.append_event(db, call_id=call_id, seq=last + 1, kind="event", type=type_name,
                           payload=payload, at=now, stored_at=now)  # fmt: skip
        if action.caller:
            _queue_copy(db, flow, action, answer.ref, now)
    return answer.ref


def _queue_copy(db: Any, flow: Flow, action: act.CreateTicket, ref: str, now: datetime) -> None:
    """The SMS copy of the registration number the call would have queued."""
    assert action.caller is not None
    language = flow.language_or_default(action.language)
    params = {"ref": ref}
    if action.category in flow.categories:
        params["category"] = flow.categories[action.category].name[language]
    ticket = tickets.find_ticket(db, ref)
    outbox.queue_sms(db, to=action.caller, body=fill(flow.texts.sms_ticket[language], params),
                     template="sms_ticket", language=language,
                     ticket_id=ticket.id if ticket else None, at=now)  # fmt: skip
