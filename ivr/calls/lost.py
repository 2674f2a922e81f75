"""A call lost with its node (an `ivr sip` process died mid-call, and the audio with it): the
sweeper ends it at once (`ivr.calls.stale`), a half-made report becoming a draft, and here
the caller is offered a callback by SMS: the first free slot of the call's department (else
of the flow's first callback node) is booked and texted with the usual replies (1 confirm,
2 another time, 0 cancel: `ivr.sms.conversation`). Nothing is sent to a withheld or
opted-out number, when no slot is free, or when the flow has no `callback_sms.dropped`."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from ivr.callbacks.texts import send, slot_params
from ivr.calls.runner import CallRunner, CallServices
from ivr.storage import callbacks
from ivr.storage.models import Call, Ticket
from menus.schema import CallbackNode, Flow

log = logging.getLogger(__name__)


def offer_callback(services: CallServices, runner: CallRunner, now: datetime) -> bool:
    """Book and text the lost call's caller a callback; whether one was offered."""
    flow = runner.loaded.flow
    texts = flow.texts.callback_sms
    department = runner.session.department or _callback_department(flow)
    if texts is None or texts.dropped is None or department is None:
        return False
    with services.database.session() as db:
        call = db.get_one(Call, runner.call_id)
        if call.caller is None:
            return False
        ticket = db.scalars(
            select(Ticket).where(Ticket.call_id == call.id).order_by(Ticket.id.desc())
        ).first()  # the draft the hang-up filed, or the ticket filed before
        booked = callbacks.book_first_free(
            db,
            flow,
            caller=call.caller,
            department=department,
            language=runner.session.language,
            call_id=runner.call_id,
            ticket_id=ticket.id if ticket else None,
            at=now,
        )
        if booked is None:
            log.warning("lost call %s: no callback slot free to offer", runner.call_id)
            return False
        send(db, flow, booked, "dropped", texts.dropped, slot_params(flow, booked), now)
    log.info("lost call %s: a callback offered by SMS", runner.call_id)
    return True


def _callback_department(flow: Flow) -> str | None:
    return next(
        (n.department for n in flow.nodes.values() if isinstance(n, CallbackNode) and n.department),
        None,
    )
