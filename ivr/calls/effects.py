"""Carrying out the engine's storage actions, answering some of them with an event.

CreateTicket → TicketCreated (and, with a recording whose file is here, a transcription job
in the same transaction), LookupTicket / CheckTicketPin → TicketLookedUp,
ScheduleCallback → CallbackScheduled, BookAppointment → AppointmentBooked, LookupAppointment →
AppointmentLookedUp; QueueSms, RememberLanguage, CountAnnouncements and the owner's
follow-ups (AddNote, MarkSolved) need no answer. A database error becomes StorageFailed, so
the caller hears an apology and is offered a human instead of silence; what was stored
before stays stored.

The call runner carries an action out inside its own transaction (`within`), so the call's
rows and the action's effect are one commit; `carry_out` opens a transaction of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ivr.email.notices import tell_department
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage import (
    appointments,
    callbacks,
    citizen,
    escalations,
    notices,
    outbox,
    preferences,
    surveys,
    tickets,
    transcriptions,
    twilio,
)
from ivr.storage.db import Database
from ivr.storage.models import Appointment, Callback, Ticket
from ivr.storage.pin_pool import pins
from menus.schema import Flow

log = logging.getLogger(__name__)

STORAGE_ACTIONS = (
    act.CreateTicket,
    act.LookupTicket,
    act.CheckTicketPin,
    act.ScheduleCallback,
    act.QueueSms,
    act.RememberLanguage,
    act.ConfirmCallback,
    act.RecordSurvey,
    act.AddNote,
    act.MarkSolved,
    act.BookAppointment,
    act.ConfirmAppointment,
    act.LookupAppointment,
    act.CountAnnouncements,
)
UNANSWERED_ACTIONS = (act.QueueSms, act.RememberLanguage, act.CountAnnouncements)
"""Storage actions the engine never waits on: the runner carries them out with the rows that
follow, and their failure is only logged."""


@dataclass(frozen=True)
class Effects:
    """The storage side of one call."""

    database: Database
    flow: Flow
    call_id: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.flow.city.timezone)

    def carry_out(self, action: act.Action, at: datetime) -> ev.Event | None:
        """Do one storage action at time `at` in a transaction of its own; the answer event,
        if the action has one."""
        pin = self.pin_for(action)
        try:
            with self.database.session() as session:
                return self.within(session, action, at, pin)
        except SQLAlchemyError:
            return self.failed(action, at)

    @staticmethod
    def pin_for(action: act.Action) -> tickets.NewPin | None:
        """A new ticket's PIN, taken before the transaction: a hash made while the write lock
        is held would hold every other call's writes (`new_pin` is slow by design)."""
        return pins.take() if isinstance(action, act.CreateTicket) else None

    def within(
        self, session: Session, action: act.Action, at: datetime, pin: tickets.NewPin | None
    ) -> ev.Event | None:
        """Do one storage action in `session`; a database error is raised to the caller."""
        if isinstance(action, act.CreateTicket):
            assert pin is not None, "a ticket's PIN comes from pin_for()"
            ticket = self._file(session, action, pin, at)
            return ev.TicketCreated(at=at, ref=ticket.ref, pin=pin.clear)
        return self._dispatch(session, action, at)

    def failed(self, action: act.Action, at: datetime) -> ev.Event | None:
        """What the engine hears when `action` could not be carried out."""
        log.exception("call %s: %s failed", self.call_id, type(action).__name__)
        if isinstance(action, UNANSWERED_ACTIONS):
            return None  # nothing the caller waits for
        return ev.StorageFailed(at=at, action=type(action).__name__)

    def _dispatch(self, session: Session, action: act.Action, at: datetime) -> ev.Event | None:
        match action:
            case act.LookupTicket():
                access = tickets.lookup_for_caller(session, action.ref, action.caller, at)
                return self._looked_up(action.ref, access, at, pin_checked=False)
            case act.CheckTicketPin():
                access = tickets.check_pin(session, action.ref, action.pin, action.caller, at)
                return self._looked_up(action.ref, access, at, pin_checked=True)
            case act.ScheduleCallback():
                return self._schedule_callback(session, action, at)
            case act.QueueSms():
                self._queue_sms(session, action, at)
            case act.RememberLanguage():
                preferences.remember_language(session, action.caller, action.language, at)
            case act.ConfirmCallback():
                session.get_one(Callback, action.callback_id).confirmed_at = at
            case act.BookAppointment():
                return self._book_appointment(session, action, at)
            case act.ConfirmAppointment():
                session.get_one(Appointment, action.appointment_id).confirmed_at = at
            case act.LookupAppointment():
                return self._look_up_appointment(session, action, at)
            case act.CountAnnouncements():
                notices.count_announcements(session, action.ids, skipped=action.skipped)
            case act.RecordSurvey():
                surveys.record_survey(
                    session,
                    kind="ivr",
                    score=action.score,
                    language=action.language,
                    at=at,
                    call_id=self.call_id,
                )
            case act.AddNote() | act.MarkSolved():
                self._citizen_follow_up(session, action, at)
            case _:
                raise TypeError(f"{type(action).__name__} is not a storage action")
        return None

    def _file(
        self, session: Session, a: act.CreateTicket, pin: tickets.NewPin, at: datetime
    ) -> Ticket:
        """The ticket, its deadline escalation and its description: its transcription queued
        if the file is here (else its download queues it), or, for a draft without one, the
        description Twilio recorded that the hang-up kept the engine from hearing
        (`ivr.storage.transcriptions`)."""
        ticket = tickets.create_ticket(
            session,
            pin=pin,
            kind=a.kind,
            draft=a.draft,
            caller=a.caller,
            language=a.language,
            department=a.department,
            category=a.category,
            district=a.district,
            recording_id=a.recording_id,
            description=a.description,
            deadline_days=a.deadline_days,
            call_id=self.call_id,
            at=at,
            zone=self.zone,
        )
        if not a.draft and a.kind == "report":
            escalations.schedule_deadline(session, self.flow, ticket, at)
        if not a.draft:
            tell_department(session, self.flow, ticket, "new", at)
        if a.recording_id is not None or a.draft:
            transcriptions.lock_call(session, self.call_id)
            if a.recording_id is None:  # a hang-up during a Twilio `<Record>`, maybe
                twilio.link_unheard_description(session, ticket, at)
            else:
                transcriptions.queue_if_here(session, ticket, at)
        return ticket

    @staticmethod
    def _looked_up(
        ref: str, access: tickets.TicketAccess, at: datetime, *, pin_checked: bool
    ) -> ev.Event:
        return ev.TicketLookedUp(
            at=at,
            ref=ref,
            found=access.found,
            granted=access.granted,
            locked=access.locked,
            pin_checked=pin_checked,
            status=access.status,
            deadline=access.deadline,
        )

    def _schedule_callback(
        self, session: Session, a: act.ScheduleCallback, at: datetime
    ) -> ev.Event:
        """Hold the first free slot (or move the held one to the next free slot): counted and
        booked under the slots' lock, so a slot never takes more than it holds."""
        if a.callback_id is not None:
            held = session.get(Callback, a.callback_id)
            if held is None or held.status != "booked":
                return ev.CallbackScheduled(at=at, slot=None)
            free = callbacks.free_slots(
                session, self.flow, held.department, at, after=a.after, exclude=held.id
            )
            if free:
                callbacks.move_callback(session, self.flow, held, free[0], at)
            return ev.CallbackScheduled(at=at, slot=held.slot_start, callback_id=held.id)
        ticket = tickets.find_ticket(session, a.ticket_ref) if a.ticket_ref else None
        booked = callbacks.book_first_free(
            session,
            self.flow,
            caller=a.caller,
            department=a.department,
            language=a.language,
            call_id=self.call_id,
            ticket_id=ticket.id if ticket else None,
            at=a.requested_at,
        )
        if booked is None:
            return ev.CallbackScheduled(at=at, slot=None)
        return ev.CallbackScheduled(at=at, slot=booked.slot_start, callback_id=booked.id)

    def _citizen_follow_up(
        self, session: Session, a: act.AddNote | act.MarkSolved, at: datetime
    ) -> None:
        """The owner's note or answer on the report whose status they just heard."""
        ticket = tickets.find_ticket(session, a.ref)
        assert ticket is not None  # the engine asks only about a ticket it was granted
        if isinstance(a, act.AddNote):
            citizen.add_note(
                session, self.flow, ticket, source="phone", at=at,
                body=a.transcript, recording_id=a.recording_id,
            )  # fmt: skip
        else:
            citizen.mark_solved(session, self.flow, ticket, solved=a.solved, source="phone", at=at)

    def _book_appointment(self, session: Session, a: act.BookAppointment, at: datetime) -> ev.Event:
        """Hold the first free slot of the service's counter (or move the held visit to the
        next free one), under the service's lock, so a slot never takes more than it holds."""
        if a.appointment_id is not None:
            held = session.get(Appointment, a.appointment_id)
            if held is None or held.status != appointments.BOOKED:
                return ev.AppointmentBooked(at=at, slot=None)
            appointments.move_to_next(session, self.flow, held, at)
            return _booked(held, at, held=False)
        booking = appointments.book_first_free(
            session,
            self.flow,
            caller=a.caller,
            service=a.service,
            language=a.language,
            call_id=self.call_id,
            at=a.requested_at,
        )
        if booking is None:
            return ev.AppointmentBooked(at=at, slot=None)
        return _booked(booking.appointment, at, held=booking.held)

    @staticmethod
    def _look_up_appointment(session: Session, a: act.LookupAppointment, at: datetime) -> ev.Event:
        found = appointments.find_upcoming(session, a.code, at)
        if found is None:
            return ev.AppointmentLookedUp(at=at, code=a.code, found=False)
        return ev.AppointmentLookedUp(
            at=at,
            code=a.code,
            found=True,
            slot=found.slot_start,
            service=found.service,
            counter=found.counter,
        )

    def _queue_sms(self, session: Session, a: act.QueueSms, at: datetime) -> None:
        outbox.queue_sms_about(
            session, a.ticket_ref, to=a.to, body=a.text, template=a.template,
            language=a.language, at=at,
        )  # fmt: skip


def _booked(appointment: Appointment, at: datetime, *, held: bool) -> ev.AppointmentBooked:
    return ev.AppointmentBooked(
        at=at,
        slot=appointment.slot_start,
        appointment_id=appointment.id,
        code=appointment.code,
        counter=appointment.counter,
        held=held,
    )
