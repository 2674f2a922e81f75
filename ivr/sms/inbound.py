"""The shell around the SMS conversation: one inbound SMS, handled once, in one transaction.

The message is stored first, keyed by its MessageSid (a repeat finds it and does nothing);
the state its command needs is loaded and locked (the sender's newest pending offer: a
callback or an appointment, whichever was booked last; the slots' booking lock; the ticket
named); `ivr.sms.conversation.converse` decides; its changes
are applied and its replies queued in the outbox, so the sending rules apply to them (opt-out,
`sending` before the request, no resend without a look-up). Nothing is answered inline.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.phones import normalize_number
from ivr.sms import conversation as conv
from ivr.storage import appointments, callbacks, citizen, escalations, outbox, preferences, tickets
from ivr.storage.db import Database
from ivr.storage.models import Appointment, Callback, SmsInbound, Ticket
from ivr.storage.upsert import insert_once
from menus.schema import Flow

MAX_STORED = 1600
"""Twilio's longest message; longer bodies are stored cut (only the start is read anyway)."""


def receive_sms(
    database: Database, flow: Flow, *, message_sid: str, sender: str, body: str, at: datetime
) -> bool:
    """Handle one inbound SMS; False when this MessageSid was handled already."""
    command = conv.parse(body)
    number = normalize_number(sender, flow.city.country)
    with database.session() as session:
        if not _store(session, message_sid, sender, body, command, at):
            return False
        state = _state(session, flow, command, number, at)
        outcome = conv.converse(flow, command, state)
        for change in outcome.changes:
            _apply(session, flow, change, at)
        for reply in outcome.replies:
            outbox.queue_sms_about(
                session, reply.ticket_ref, to=reply.to, body=reply.text,
                template=reply.template, language=reply.language, at=at,
            )  # fmt: skip
    return True


def _store(
    session: Session, sid: str, sender: str, body: str, command: conv.Command, at: datetime
) -> bool:
    values = dict(
        message_sid=sid,
        sender=sender,
        body=body[:MAX_STORED],
        command=command.kind if command.ref is None else f"{command.kind} {command.ref}",
        received_at=at,
    )
    return insert_once(session, SmsInbound, values, [SmsInbound.message_sid])


def _state(
    session: Session, flow: Flow, command: conv.Command, sender: str | None, at: datetime
) -> conv.SmsState:
    if sender is None:
        return conv.SmsState(sender=None, language=flow.default_language, opted_out=False)
    offer: conv.Offer | conv.VisitOffer | None = None
    facts: conv.TicketFacts | None = None
    language = preferences.remembered_language(session, sender)
    if command.kind in ("confirm", "another", "cancel"):
        pending = _newest_offer(session, flow, sender, at)
        another = command.kind == "another"
        if isinstance(pending, Appointment):
            offer = _visit_offer(session, flow, pending, at, another=another)
        elif pending is not None:
            offer = _offer(session, flow, pending, at, another=another)
        language = language or (pending.language if pending else None)
    if command.ref is not None:
        ticket = tickets.find_ticket(session, command.ref)
        if ticket is not None:
            facts = _facts(session, flow, ticket, sender, at, command.kind == "escalate")
            if ticket.caller == sender:  # another's report must not show in the answer
                language = language or ticket.language
    return conv.SmsState(
        sender=sender,
        language=language or _language_of(session, sender) or flow.default_language,
        opted_out=outbox.is_opted_out(session, sender),
        offer=offer,
        ticket=facts,
    )


def _language_of(session: Session, sender: str) -> str | None:
    """The language of the sender's newest callback, appointment or report, when nothing
    else tells."""
    for model in (Callback, Appointment, Ticket):
        language = session.scalar(
            select(model.language)
            .where(model.caller == sender)
            .order_by(model.created_at.desc())
            .limit(1)
        )
        if language:
            return str(language)
    return None


def _newest_offer(
    session: Session, flow: Flow, sender: str, at: datetime
) -> Callback | Appointment | None:
    """The sender's newest pending callback or appointment (DESIGN §5: a reply applies to the
    number's newest pending offer); appointments only when the flow has their SMS texts."""
    found: list[Callback | Appointment] = []
    callback = callbacks.pending_offer(session, sender, at)
    if callback is not None:
        found.append(callback)
    if flow.texts.appointment_sms is not None:
        visit = appointments.pending_offer(session, sender, at)
        if visit is not None:
            found.append(visit)
    return max(found, key=lambda offer: offer.created_at, default=None)


def _visit_offer(
    session: Session, flow: Flow, pending: Appointment, at: datetime, *, another: bool
) -> conv.VisitOffer:
    next_free = None
    if another:
        appointments.lock_service(session, pending.service)
        free = appointments.free_slots(
            session, flow, pending.service, at, after=pending.slot_start, exclude=pending.id
        )
        next_free = free[0] if free else None
    return conv.VisitOffer(pending.id, pending.slot_start, pending.service, pending.code, next_free)


def _offer(
    session: Session, flow: Flow, pending: Callback, at: datetime, *, another: bool
) -> conv.Offer:
    next_free = None
    if another:
        callbacks.lock_slots(session, pending.department, pending.role)
        free = callbacks.free_slots(
            session,
            flow,
            pending.department,
            at,
            role=pending.role,
            after=pending.slot_start,
            exclude=pending.id,
        )
        next_free = free[0] if free else None
    return conv.Offer(pending.id, pending.slot_start, pending.department, next_free)


def _facts(
    session: Session, flow: Flow, ticket: Ticket, sender: str, at: datetime, escalating: bool
) -> conv.TicketFacts:
    slot = booked = None
    lately = False
    if escalating and ticket.caller == sender:
        session.refresh(ticket, with_for_update=True)  # racing ESCALATEs: one at a time
        since = at - escalations.CITIZEN_COOLDOWN
        lately = escalations.escalated_by_citizen_since(session, ticket, since)
        if lately:
            callback = escalations.booked_callback(session, ticket)
            booked = callback.slot_start if callback is not None else None
        else:
            slot = escalations.escalation_slot(session, flow, ticket, at)
    return conv.TicketFacts(
        ref=ticket.ref,
        caller=ticket.caller,
        status=ticket.status,
        deadline=ticket.deadline,
        department=ticket.department,
        level=ticket.escalation_level,
        escalation_slot=slot,
        escalated_lately=lately,
        booked_slot=booked,
    )


def _apply(session: Session, flow: Flow, change: conv.Change, at: datetime) -> None:
    match change:
        case conv.ConfirmCallback(callback_id):
            session.get_one(Callback, callback_id).confirmed_at = at
        case conv.MoveCallback(callback_id, slot):
            moved = callbacks.move_callback(
                session, flow, session.get_one(Callback, callback_id), slot, at
            )
            assert moved  # the slot was found free under the lock this transaction holds
        case conv.CancelCallback(callback_id):
            callbacks.cancel_callback(session.get_one(Callback, callback_id), at, "SMS 0")
        case conv.ConfirmAppointment(appointment_id):
            session.get_one(Appointment, appointment_id).confirmed_at = at
        case conv.MoveAppointment(appointment_id, slot):
            new_slot = appointments.move_to_next(
                session, flow, session.get_one(Appointment, appointment_id), at
            )
            assert new_slot == slot  # the slot was found free under the lock this transaction holds
        case conv.CancelAppointment(appointment_id):
            appointments.cancel(session.get_one(Appointment, appointment_id), at, "SMS 0")
        case conv.OptOut(number):
            outbox.opt_out(session, number, at)
        case conv.OptIn(number):
            outbox.opt_in(session, number)
        case conv.Escalate(ref, level, slot):
            ticket = _shown(session, ref)
            escalations.escalate(
                session, flow, ticket, reason="citizen", at=at, slot=slot, from_level=level - 1
            )
        case conv.AddNote(ref, text):
            citizen.add_note(session, flow, _shown(session, ref), source="sms", body=text, at=at)
        case conv.MarkSolved(ref, solved):
            ticket = _shown(session, ref)
            citizen.mark_solved(session, flow, ticket, solved=solved, source="sms", at=at)


def _shown(session: Session, ref: str) -> Ticket:
    """The ticket `converse` was shown (it changes only a ticket it was shown)."""
    ticket = tickets.find_ticket(session, ref)
    assert ticket is not None
    return ticket
