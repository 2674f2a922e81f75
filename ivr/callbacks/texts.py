"""The SMS a callback sends the citizen (DESIGN §5), in their language: the reminder,
"missed", a new time when it was booked again, the escalation and the officer's resolution.
Each is queued in the outbox in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ivr.engine.render import fill, sms_slot
from ivr.storage import outbox
from ivr.storage.callbacks import OFFICER, rebook
from ivr.storage.models import Callback, Ticket
from menus.schema import Flow

MAX_SEGMENTS = 2


def slot_params(flow: Flow, callback: Callback) -> dict[str, str]:
    language = flow.language_or_default(callback.language)
    department = flow.departments.get(callback.department)
    return {
        "when": sms_slot(callback.slot_start, ZoneInfo(flow.city.timezone), language),
        "department": department.name[language] if department else callback.department,
    }


def send(
    session: Session,
    flow: Flow,
    callback: Callback,
    template: str,
    texts: dict[str, str],
    params: dict[str, str],
    at: datetime,
) -> None:
    """Queue one of the callback SMS to the citizen in their language."""
    language = callback.language if callback.language in texts else flow.default_language
    outbox.queue_sms(
        session,
        to=callback.caller,
        body=fill(texts[language], params),
        template=f"callback_sms.{template}",
        language=language,
        ticket_id=callback.ticket_id,
        at=at,
    )


def missed(session: Session, flow: Flow, callback: Callback, at: datetime, why: str) -> None:
    """The citizen could not be reached: the callback ends and they are told by SMS."""
    callback.status, callback.outcome, callback.done_at = "missed", why, at
    texts = flow.texts.callback_sms
    if texts is not None:
        send(session, flow, callback, "missed", texts.missed, slot_params(flow, callback), at)


def tell_escalated(
    session: Session, flow: Flow, ticket: Ticket, callback_id: int | None, at: datetime
) -> None:
    """SMS the citizen where their ticket went and when that level calls."""
    texts = flow.texts.callback_sms
    if texts is None or ticket.caller is None:
        return
    language = flow.language_or_default(ticket.language)
    callback = session.get(Callback, callback_id) if callback_id is not None else None
    when = "-"
    if callback is not None:
        when = sms_slot(callback.slot_start, ZoneInfo(flow.city.timezone), language)
    level = flow.escalation[ticket.escalation_level].name[language]
    body = fill(texts.escalated[language], {"ref": ticket.ref, "level": level, "when": when})
    outbox.queue_sms(
        session,
        to=ticket.caller,
        body=body,
        template="callback_sms.escalated",
        language=language,
        ticket_id=ticket.id,
        at=at,
    )


def send_resolution(
    session: Session, flow: Flow, callback: Callback, resolution: str, at: datetime
) -> None:
    """Text the citizen the officer's resolution, cut (with an ellipsis) to fit 2 segments."""
    texts = flow.texts.callback_sms
    ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
    if texts is None or ticket is None:
        return
    language = flow.language_or_default(callback.language)
    template, words = texts.resolution[language], " ".join(resolution.split())
    body = fill(template, {"ref": ticket.ref, "resolution": words})
    while outbox.segments(body) > MAX_SEGMENTS and words:
        words = words[: len(words) * 9 // 10].rstrip()
        body = fill(template, {"ref": ticket.ref, "resolution": f"{words}…"})
    outbox.queue_sms(
        session,
        to=callback.caller,
        body=body,
        template="callback_sms.resolution",
        language=language,
        ticket_id=ticket.id,
        at=at,
    )


def rebook_and_tell(
    session: Session, flow: Flow, callback: Callback, role: str, at: datetime, why: str
) -> bool:
    """Book the callback again for `role` (`ivr.storage.callbacks.rebook`) and text the
    citizen who calls them and when; False (nothing changed) when no slot is free."""
    if not rebook(session, flow, callback, role=role, at=at, why=why):
        return False
    texts = flow.texts.callback_sms
    if texts is not None:
        language = flow.language_or_default(callback.language)
        params = {**slot_params(flow, callback), "who": _who(flow, callback, language)}
        send(session, flow, callback, "rescheduled", texts.rescheduled, params, at)
    return True


def _who(flow: Flow, callback: Callback, language: str) -> str:
    """Who calls: the department (its officers), or the rung of the ladder by its name."""
    if callback.role == OFFICER:
        return slot_params(flow, callback)["department"]
    level = next(lv for lv in flow.escalation if lv.role == callback.role)
    return level.name[language]
