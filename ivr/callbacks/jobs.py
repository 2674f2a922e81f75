"""The worker's side of callbacks (DESIGN §9): placing the calls at the slot, the reminder an
hour before, and the escalation when a category's deadline passes.

- "callback.place" (due at the slot): the officer's leg is called first (the assigned
  officer, else the department's officer present with the fewest callbacks in that slot; a
  rung above the officers is called on its `transfer` number). An officer is in one callback
  call at a time: the next waits until the first ends. A callback that cannot be placed at
  its time is booked again and the citizen texted the new time: due while the office is
  closed, more than `stale_after` late (the worker was down), or with no officer on duty
  (the next rung of the ladder calls instead). No call is ever placed outside office hours.
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

from ivr.callbacks.texts import missed, rebook_and_tell, send, slot_params, tell_escalated
from ivr.clock import Clock, utc_now
from ivr.email.notices import tell_officer
from ivr.engine.ports import OutboundCaller
from ivr.jobs import Handler, PermanentJobError
from ivr.storage import escalations, notices
from ivr.storage.callbacks import OFFICER, PENDING, PLACE, REMIND, lock_line, staff_on_duty
from ivr.storage.db import Database
from ivr.storage.models import Callback, CallbackAttempt, Ticket
from ivr.storage.queue import enqueue
from menus.registry import FlowRegistry
from menus.schema import Flow
from routing.closures import Closure
from routing.escalation import next_level
from routing.hours import is_open, next_opening

log = logging.getLogger(__name__)

CONNECT = "callback.connect"
CALL_ATTEMPTS = 2
"""Each leg is called at most twice: the first call and one retry."""
RETRY_AFTER = timedelta(minutes=2)
ACTIVE = ("booked", "placed")
LOGGED = "LOG-"
"""The call ids of LoggingOutboundCaller: the demo's calls, only written to the log."""
LIVE_STATUSES = ("dialing", "queued", "initiated", "ringing", "in-progress")
LINE_WAIT = timedelta(minutes=1)
"""How long a callback waits when its officer is on another callback call."""
LINE_HOLD = timedelta(hours=2)
"""An officer's call not reported ended after this long no longer holds their line."""
SETTLE_AFTER = timedelta(minutes=2)
"""How long a call asked for without an answer may still be reported by Twilio (its first
status callback, `initiated`, comes within seconds of Twilio taking the request)."""


@dataclass(frozen=True)
class CallbackJobs:
    database: Database
    flows: FlowRegistry
    caller: OutboundCaller
    clock: Clock = utc_now
    stale_after: timedelta = timedelta(minutes=30)
    """A callback whose slot passed longer ago than this is booked again, not dialled."""

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
            if callback.status == PENDING and self._rebooked(session, flow, callback, now):
                return
            if self._closed(session, flow, callback.department, PLACE, payload, now):
                return
            to = _officer_number(session, flow, callback, now)
            if to is None:
                _nobody_to_call(session, flow, callback, now)
                return
        self._dial(callback_id, "officer", attempt, to, (PLACE, payload))

    def _rebooked(self, session: Session, flow: Flow, callback: Callback, now: datetime) -> bool:
        """A callback due while its office is closed, or whose slot passed more than
        `stale_after` ago (the worker was down), is booked again and the citizen told,
        instead of being dialled late."""
        if not is_open(flow, callback.department, now, _closures(session, flow, now)):
            why = "the office was closed when it was due"
        elif now - callback.slot_start > self.stale_after:
            why = f"not placed until {now - callback.slot_start} after its time"
        else:
            return False
        if not rebook_and_tell(session, flow, callback, callback.role, now, why):
            callback.outcome = f"not placed ({why}); no free slot to move it to"
            log.error("callback %s: %s", callback.id, callback.outcome)
        return True

    # -- the citizen's leg, once the officer answered --------------------------------------

    def connect(self, payload: dict[str, Any]) -> None:
        callback_id, attempt = int(payload["callback_id"]), int(payload["attempt"])
        now, flow = self.clock(), self.flow
        with self.database.session() as session:
            callback = session.get(Callback, callback_id)
            if callback is None or callback.status != "placed":
                return
            if not is_open(flow, callback.department, now, _closures(session, flow, now)):
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
                if row is None and leg == "officer" and _line_busy(session, to, callback_id, now):
                    kind, payload = job
                    enqueue(session, kind, payload, at=now, run_after=now + LINE_WAIT)
                    log.info("callback %s: its officer is on another callback call", callback_id)
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
            if row.status == "dialing":  # a logged call never rings: it is over at once
                row.status = "completed" if sid.startswith(LOGGED) else "initiated"

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
        closures = _closures(session, flow, now)
        if is_open(flow, department, now, closures):
            return False
        opening = next_opening(flow, department, now, closures=closures)
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
            params = slot_params(flow, callback)
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


def _line_busy(session: Session, number: str, callback_id: int, now: datetime) -> bool:
    """Whether the officer at `number` is being called, or is in a call, for another
    callback (under the number's lock, so that two workers never ring it at once)."""
    lock_line(session, number)
    live = session.scalar(
        select(func.count())
        .select_from(CallbackAttempt)
        .where(
            CallbackAttempt.to == number,
            CallbackAttempt.leg == "officer",
            CallbackAttempt.callback_id != callback_id,
            CallbackAttempt.status.in_(LIVE_STATUSES),
            CallbackAttempt.started_at > now - LINE_HOLD,
        )
    )
    return bool(live)


def _nobody_to_call(session: Session, flow: Flow, callback: Callback, now: datetime) -> None:
    """No officer with a phone is on duty at the slot: the next rung of the ladder calls
    (its number is in the flow), or, without one, the department's next free slot."""
    why = "nobody to call: no officer with a phone number on duty"
    above = next_level(flow, callback.role)
    role = above.role if above is not None else callback.role
    if not rebook_and_tell(session, flow, callback, role, now, why):
        log.error("callback %s: %s, and no free slot to move it to", callback.id, why)


def _attempt(session: Session, callback_id: int, leg: str, number: int) -> CallbackAttempt | None:
    return session.scalar(
        select(CallbackAttempt).where(
            CallbackAttempt.callback_id == callback_id,
            CallbackAttempt.leg == leg,
            CallbackAttempt.number == number,
        )
    )


def _officer_number(session: Session, flow: Flow, callback: Callback, now: datetime) -> str | None:
    """Who takes the callback's first leg; assigns the officer on the way (and e-mails
    them, when their department opted in)."""
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
        tell_officer(session, flow, callback, now)
    officer = next((o for o in on_duty if o.id == callback.officer_id), None)
    return officer.phone if officer is not None else None


def _closures(session: Session, flow: Flow, now: datetime) -> tuple[Closure, ...]:
    """The site's closures that may close an office from `now` on."""
    return notices.closures_at(session, ZoneInfo(flow.city.timezone), now)


class LoggingOutboundCaller:
    """An OutboundCaller that only logs: the demo runs without a telephony provider."""

    def call(self, to: str, *, callback_id: int, leg: str, attempt: int) -> str:
        call_id = f"{LOGGED}{uuid.uuid4()}"
        log.info("callback %s: would call the %s at %s (%s)", callback_id, leg, to, call_id)
        return call_id
