"""The worker's side of callbacks (DESIGN §9): placing the calls at the slot, the reminder an
hour before, and the escalation when a category's deadline passes.

- "callback.place" (due at the slot): the officer's leg is called first (the assigned
  officer, else the department's officer present with the fewest callbacks in that slot; a
  rung above the officers is called on its `transfer` number). Due while the department is
  closed (a worker that was down), it waits for the next opening: no call is ever placed
  outside office hours.
- "callback.connect": the citizen's leg, once the officer answered (`ivr.callbacks.calls`);
  attempt 2 is the one retry after a citizen's no-answer.
- "callback.remind": the reminder SMS, once (`reminded_at` is set in the same transaction).
- "ticket.deadline": a ticket still open when its category's time is up goes one level up.

Exactly once: every call is a CallbackAttempt row per (callback, leg, attempt), committed
`dialing` before the provider is asked (the unique key lets only one worker insert it). The
call's status callbacks name that attempt (`?attempt=N` in their URL), so its call id is
known even when the request's answer was lost. A run that finds its row `dialing` without a
call id (the worker before it died mid-request, or the request timed out) checks again when
that report is due, and asks again only when none came for SETTLE_AFTER.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.clock import Clock, utc_now
from ivr.engine.ports import OutboundCaller
from ivr.engine.render import fill, sms_slot
from ivr.jobs import Handler, PermanentJobError
from ivr.storage import escalations, outbox
from ivr.storage.callbacks import OFFICER, PENDING, PLACE, REMIND, staff_on_duty
from ivr.storage.db import Database
from ivr.storage.models import Callback, CallbackAttempt, Ticket
from ivr.storage.queue import enqueue
from menus.registry import FlowRegistry
from menus.schema import Flow
from routing.hours import is_open, next_opening

log = logging.getLogger(__name__)

CONNECT = "callback.connect"
CALL_ATTEMPTS = 2
"""Each leg is called at most twice: the first call and one retry."""
RETRY_AFTER = timedelta(minutes=2)
MAX_SEGMENTS = 2
ACTIVE = ("booked", "placed")
SETTLE_AFTER = timedelta(minutes=2)
"""How long a call asked for without an answer may still be reported by Twilio (its first
status callback, `initiated`, comes within seconds of Twilio taking the request)."""


@dataclass(frozen=True)
class CallbackJobs:
    database: Database
    flows: FlowRegistry
    caller: OutboundCaller
    clock: Clock = utc_now

    def handlers(self) -> dict[str, Handler]:
        return {
            PLACE: self.place,
            CONNECT: self.connect,
            REMIND: self.remind,
            escalations.DEADLINE: self.deadline,
        }

    @property
    def flow(self) -> Flow:
        return self.flows.current().flow

    # -- the officer's leg, at the slot ----------------------------------------------------

    def place(self, payload: dict[str, Any]) -> None:
        callback_id, attempt = int(payload["callback_id"]), int(payload.get("attempt", 1))
        now, flow = self.clock(), self.flow
        with self.database.session() as session:
            callback = session.get(Callback, callback_id)
            if callback is None or callback.status not in ACTIVE:
                return
            if callback.slot_start.isoformat() != payload["slot"]:
                return  # moved: the job queued for its new slot places it
            if self._closed(session, flow, callback.department, PLACE, payload, now):
                return
            to = _officer_number(session, flow, callback)
            if to is None:
                callback.outcome = "nobody to call: no officer with a phone number on duty"
                log.error("callback %s: %s", callback_id, callback.outcome)
                return
        self._dial(callback_id, "officer", attempt, to, (PLACE, payload))

    # -- the citizen's leg, once the officer answered --------------------------------------

    def connect(self, payload: dict[str, Any]) -> None:
        callback_id, attempt = int(payload["callback_id"]), int(payload["attempt"])
        now, flow = self.clock(), self.flow
        with self.database.session() as session:
            callback = session.get(Callback, callback_id)
            if callback is None or callback.status != "placed":
                return
            if not is_open(flow, callback.department, now):
                missed(session, flow, callback, now, "the office closed before the retry")
                return
            to = callback.caller
        self._dial(callback_id, "citizen", attempt, to, (CONNECT, payload))

    def _dial(
        self, callback_id: int, leg: str, attempt: int, to: str, job: tuple[str, dict[str, Any]]
    ) -> None:
        """Ask for the call once; a request whose outcome is unknown is settled first: a
        report of Twilio's names its call, no report for SETTLE_AFTER means Twilio never
        took it (a look-up by number and time could take another callback's call)."""
        now = self.clock()
        try:
            with self.database.session() as session:
                row = _attempt(session, callback_id, leg, attempt)
                if row is not None and row.provider_sid is not None:
                    return  # placed already
                if row is not None and now - row.started_at < SETTLE_AFTER:
                    kind, payload = job
                    enqueue(session, kind, payload, at=now, run_after=row.started_at + SETTLE_AFTER)
                    log.info("callback %s: waiting for a report of the %s's call", callback_id, leg)
                    return
                if row is not None:
                    log.warning(
                        "callback %s: no report of the %s's call; calling again", callback_id, leg
                    )
                    row.started_at = now  # asked again, below
                else:
                    session.add(
                        CallbackAttempt(
                            callback_id=callback_id,
                            leg=leg,
                            number=attempt,
                            to=to,
                            status="dialing",
                            started_at=now,
                        )
                    )
                    session.get_one(Callback, callback_id).status = "placed"
        except IntegrityError:
            log.info("callback %s: another worker is calling the %s already", callback_id, leg)
            return
        sid = self.caller.call(to, callback_id=callback_id, leg=leg, attempt=attempt)
        with self.database.session() as session:
            row = _attempt(session, callback_id, leg, attempt)
            assert row is not None  # committed above, never deleted
            if row.provider_sid is None:
                row.provider_sid = sid
            if row.status == "dialing":
                row.status = "initiated"

    def _closed(
        self,
        session: Session,
        flow: Flow,
        department: str,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> bool:
        """True (and the job queued again for the next opening) when the office is closed."""
        if is_open(flow, department, now):
            return False
        opening = next_opening(flow, department, now)
        if opening is None:
            raise PermanentJobError(f"{department} does not open in the next month")
        log.warning("%s due while %s is closed: waiting for %s", kind, department, opening)
        enqueue(session, kind, payload, at=now, run_after=opening, max_attempts=3)
        return True

    # -- the reminder and the deadline -----------------------------------------------------

    def remind(self, payload: dict[str, Any]) -> None:
        now, flow = self.clock(), self.flow
        texts = flow.texts.callback_sms
        with self.database.session() as session:
            callback = session.get(Callback, int(payload["callback_id"]))
            if (
                texts is None
                or callback is None
                or callback.status != PENDING
                or callback.reminded_at is not None
                or callback.slot_start.isoformat() != payload["slot"]
                or callback.slot_start <= now
            ):
                return
            callback.reminded_at = now
            params = _params(flow, callback)
            send(session, flow, callback, "reminder", texts.reminder, params, now)

    def deadline(self, payload: dict[str, Any]) -> None:
        now, flow = self.clock(), self.flow
        with self.database.session() as session:
            ticket = session.get(Ticket, int(payload["ticket_id"]))
            if ticket is None or ticket.draft or ticket.status not in escalations.OPEN_STATUSES:
                return
            if ticket.escalation_level != int(payload["level"]):
                return  # it climbed meanwhile; that climb queued its own deadline
            step = escalations.escalate(session, flow, ticket, reason="deadline", at=now)
            if step is not None:
                tell_escalated(session, flow, ticket, step.callback_id, now)


def _attempt(session: Session, callback_id: int, leg: str, number: int) -> CallbackAttempt | None:
    return session.scalar(
        select(CallbackAttempt).where(
            CallbackAttempt.callback_id == callback_id,
            CallbackAttempt.leg == leg,
            CallbackAttempt.number == number,
        )
    )


def _officer_number(session: Session, flow: Flow, callback: Callback) -> str | None:
    """Who takes the callback's first leg; assigns the officer on the way."""
    if callback.role != OFFICER:
        level = next((lv for lv in flow.escalation if lv.role == callback.role), None)
        return level.transfer if level is not None else None
    length = timedelta(minutes=flow.settings.callback_slot_minutes)
    on_duty = staff_on_duty(
        session, callback.department, callback.slot_start, callback.slot_start + length
    )
    if callback.officer_id is None and on_duty:
        load = dict(
            session.execute(
                select(Callback.officer_id, func.count())
                .where(
                    Callback.slot_start == callback.slot_start,
                    Callback.officer_id.in_([o.id for o in on_duty]),
                )
                .group_by(Callback.officer_id)
            ).all()
        )
        callback.officer_id = min(on_duty, key=lambda o: (load.get(o.id, 0), o.id)).id
    officer = next((o for o in on_duty if o.id == callback.officer_id), None)
    return officer.phone if officer is not None else None


def _params(flow: Flow, callback: Callback) -> dict[str, str]:
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
        send(session, flow, callback, "missed", texts.missed, _params(flow, callback), at)


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


class LoggingOutboundCaller:
    """An OutboundCaller that only logs: the demo runs without a telephony provider."""

    def call(self, to: str, *, callback_id: int, leg: str, attempt: int) -> str:
        call_id = f"LOG-{uuid.uuid4()}"
        log.info("callback %s: would call the %s at %s (%s)", callback_id, leg, to, call_id)
        return call_id


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
