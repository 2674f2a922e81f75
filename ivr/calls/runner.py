"""The shell around one call: every channel drives its calls through a CallRunner.

A runner feeds events to the engine's session, stores every event and action as it happens
(redacted where they carry a PIN; each with the event's time and the wall-clock time the
runner took it, on which reply latency is measured), carries out storage actions
(`ivr.calls.effects`) and feeds their answers back, and hands the line actions (Say, Listen,
Record, timers, Transfer, HangUp) to the channel. What the caller did is stored before
anything acts on it, with one commit that waits for the disk per turn: the event, the actions
it gave and the effect of a storage action are written in one transaction before the line
actions go back to the channel (many calls share one SQLite writer, and PostgreSQL flushes
its log to disk at each such commit). A storage action the engine waits on commits the rows
before it together with its effect, so a ticket number is stored before the caller hears it;
an SMS or a remembered language is written with the rows that follow. A prompt's end, which
only starts a timer, is committed as it happens but without waiting for the disk
(PostgreSQL's `synchronous_commit = off` for that transaction): visible to every node at
once, it is lost only if the database server itself crashes within a fraction of a second,
and a call rebuilt without it hears its prompt again. If the database fails while a row is
being written, the row waits in memory and is written with the next one, so the call goes on
and nothing said is lost.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ivr.calls.effects import STORAGE_ACTIONS, UNANSWERED_ACTIONS, Effects
from ivr.clock import utc_now
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.ports import IntentMatcher
from ivr.engine.records import event_from_record, to_record
from ivr.engine.session import CallSession
from ivr.phones import normalize_number
from ivr.storage import calls, notices, outbox, preferences, tickets
from ivr.storage.db import Database
from ivr.storage.models import Call
from menus.loader import LoadedFlow, load_stored_flow
from menus.registry import FlowRegistry

log = logging.getLogger(__name__)

SECRET_INPUT = (ev.DigitsPressed, ev.SpeechRecognized)
TIMER_ACTIONS = (act.StartTimer, act.CancelTimer)


@dataclass(frozen=True)
class CallServices:
    """What every call needs, built once per process by `ivr.bootstrap`."""

    database: Database
    flows: FlowRegistry
    matcher: IntentMatcher
    carrier: str | None = None
    """The node this process is, when the calls it starts die with it (a SIP node's name,
    `ivr.storage.line_nodes`); None where another process can take a call over."""


@dataclass
class _Row:
    seq: int
    kind: str
    type: str
    payload: dict[str, Any]
    at: datetime
    stored_at: datetime
    """Wall clock when the runner took the row: a turn's reply latency is measured on it."""


Observer = Callable[[str, str, dict[str, Any]], None]
"""Sees each row as it is stored: kind ("event" or "action"), type name, redacted payload."""


@dataclass
class CallRunner:
    services: CallServices
    loaded: LoadedFlow
    call_id: str
    session: CallSession
    seq: int = 0
    backlog: list[_Row] = field(default_factory=list)
    observe: Observer | None = None
    finished: bool = False
    """The call's end (time, outcome) is stored; late events do not move it."""
    ending_outcome: str | None = None
    """Stored as the call's outcome when it ends instead of the engine's (the sweeper's)."""
    unanswered: list[tuple[act.Action, datetime]] = field(default_factory=list)
    """Storage actions no event waits on, carried out with the next commit."""
    opening: Callable[[Session], None] | None = None
    """Writes the new call's own row, in the transaction of its first events: a call is
    stored with what it began with or not at all (a retried webhook then starts it anew
    instead of finding a call that has no events)."""

    @classmethod
    def start(
        cls,
        services: CallServices,
        *,
        caller: str | None,
        channel: str,
        at: datetime,
        language: str | None = None,
        call_id: str | None = None,
        observe: Observer | None = None,
        can_give_up: bool = False,
    ) -> tuple[CallRunner, list[act.Action]]:
        """A new call on the current flow version; the first line actions to carry out.
        `can_give_up`: the channel stops a ringing transfer when the caller presses `*`."""
        loaded = services.flows.current()
        flow = loaded.flow
        number = normalize_number(caller, flow.city.country)
        call_id = call_id or uuid.uuid4().hex
        with services.database.session(read_only=True) as db:
            if language is None and number is not None:
                language = preferences.remembered_language(db, number)
            texts = number is not None and not outbox.is_opted_out(db, number)
            today = at.astimezone(ZoneInfo(flow.city.timezone)).date()
            announcements = notices.announcements_on(db, today)
            closures = notices.closures_from(db, today)

        def opening(db: Session) -> None:
            calls.save_flow_version(db, loaded.version, loaded.source, loaded.path, at)
            calls.start_call(
                db,
                call_id=call_id,
                caller=number,
                channel=channel,
                flow_version=loaded.version,
                language=language,
                at=at,
                carried_by=services.carrier,
            )

        session = CallSession(flow, services.matcher)
        runner = cls(services, loaded, call_id, session, observe=observe, opening=opening)
        started = ev.CallStarted(
            at=at,
            call_id=call_id,
            caller=number,
            channel=channel,
            language=language,
            texts=texts,
            announcements=announcements,
            closures=closures,
            can_give_up=can_give_up,
        )
        return runner, runner.feed(started)

    @classmethod
    def resume(cls, services: CallServices, call_id: str) -> CallRunner:
        """Rebuild a call in progress from its stored events, on the flow version it began on."""
        with services.database.session() as db:
            call = db.get(Call, call_id)
            if call is None:
                raise LookupError(f"no call {call_id!r}")
            rows = [(r.kind, r.type, r.payload) for r in calls.call_events(db, call_id)]
            loaded = services.flows.get(call.flow_version)
            if loaded is None:
                source = calls.flow_source(db, call.flow_version)
                assert source is not None  # saved with the call, by start()
                loaded = load_stored_flow(source, f"stored flow {call.flow_version[:12]}")
                services.flows.remember(loaded)
        session = CallSession(loaded.flow, services.matcher)
        for kind, type_name, payload in rows:
            if kind == "event":
                session.handle(event_from_record(type_name, payload))
        return cls(services, loaded, call_id, session, seq=len(rows))

    @property
    def effects(self) -> Effects:
        return Effects(self.services.database, self.loaded.flow, self.call_id)

    def feed(self, event: ev.Event) -> list[act.Action]:
        """Handle one event from the line; the line actions the channel must carry out."""
        line: list[act.Action] = []
        pending = [event]
        quiet = isinstance(event, ev.PromptFinished)
        while pending:
            current = pending.pop(0)
            self._store("event", self._storable(current), current.at)
            try:
                actions = self.session.handle(current)
            except Exception:
                self._flush()  # the event that broke the engine is kept for the replay
                raise
            for action in actions:
                self._store("action", action.redacted(), current.at)
                quiet = quiet and isinstance(action, TIMER_ACTIONS)
                if isinstance(action, UNANSWERED_ACTIONS):
                    self.unanswered.append((action, current.at))
                elif isinstance(action, STORAGE_ACTIONS):
                    answer = self._flush_with(action, current.at)
                    if answer is not None:
                        pending.append(answer)
                else:
                    line.append(action)
        ending = self.session.ended and not self.finished
        self._flush(
            node=self.session.node,
            ended_at=event.at if ending else None,
            durable=not quiet or ending,
        )
        return line

    def summary(self) -> dict[str, Any]:
        s = self.session
        return {
            "call_id": self.call_id,
            "outcome": s.outcome,
            "ticket_ref": s.ticket_refs[-1] if s.ticket_refs else None,
            "department": s.department,
            "language": s.language,
            "node": s.node,
            "flow_version": self.loaded.version,
            "ended": s.ended,
            "recording_consent": s.recording_consent,
        }

    # -- storage of the call itself -------------------------------------------------------

    def _storable(self, event: ev.Event) -> ev.Event:
        """Keys and words are stored as they are, except while a PIN is being keyed (a PIN
        said is stored as the digits the session reads in it, each a 0); events that always
        carry a secret (a new ticket's PIN) are always redacted."""
        if isinstance(event, SECRET_INPUT) and not self.session.collecting_secret:
            return event
        if isinstance(event, ev.SpeechRecognized):
            event = replace(event, text=self.session.digits_said(event.text))
        return event.redacted()

    def _store(self, kind: str, item: ev.Event | act.Action, at: datetime) -> None:
        type_name, payload = to_record(item)
        self.seq += 1
        self.backlog.append(_Row(self.seq, kind, type_name, payload, at, utc_now()))
        if self.observe:
            self.observe(kind, type_name, payload)

    def _flush(
        self, *, node: str | None = None, ended_at: datetime | None = None, durable: bool = True
    ) -> None:
        """Write what waits in memory; on a database error keep it for the next try."""
        try:
            with self.services.database.session(durable=durable) as db:
                self._write(db)
                if node is not None:
                    calls.set_current_node(db, self.call_id, node)
                    calls.set_language(db, self.call_id, self.session.chosen_language)
                if ended_at is not None:
                    self._finish(db, ended_at)
        except SQLAlchemyError:
            log.exception("call %s: %d rows wait to be stored", self.call_id, len(self.backlog))
            return
        self._written()
        self.finished = self.finished or ended_at is not None

    def _flush_with(self, action: act.Action, at: datetime) -> ev.Event | None:
        """Write what waits in memory and carry out `action` in the same commit; its answer.
        An action that fails is rolled back alone (a savepoint), so the rows are still kept."""
        pin = self.effects.pin_for(action)
        try:
            with self.services.database.session() as db:
                self._write(db)
                try:
                    with db.begin_nested():
                        answer = self.effects.within(db, action, at, pin)
                except SQLAlchemyError:
                    answer = self.effects.failed(action, at)
        except SQLAlchemyError:
            log.exception("call %s: %d rows wait to be stored", self.call_id, len(self.backlog))
            return self.effects.failed(action, at)
        self._written()
        return answer

    def _write(self, db: Session) -> None:
        """The call's row while it is new, the rows waiting in memory, then the storage
        actions no one waits on (each alone if it fails: an SMS that cannot be queued must
        not cost the call its rows)."""
        if self.opening is not None:
            self.opening(db)
        for row in self.backlog:
            calls.append_event(
                db,
                call_id=self.call_id,
                seq=row.seq,
                kind=row.kind,
                type=row.type,
                payload=row.payload,
                at=row.at,
                stored_at=row.stored_at,
            )
        effects = self.effects
        for action, at in self.unanswered:
            try:
                with db.begin_nested():
                    effects.within(db, action, at, None)
            except SQLAlchemyError:
                effects.failed(action, at)

    def _written(self) -> None:
        """The transaction that wrote what waited has committed."""
        self.opening = None
        self.backlog.clear()
        self.unanswered.clear()

    def _finish(self, db: Any, at: datetime) -> None:
        refs = self.session.ticket_refs
        ticket = tickets.find_ticket(db, refs[-1]) if refs else None
        calls.finish_call(
            db,
            call_id=self.call_id,
            at=at,
            outcome=self.ending_outcome or self.session.outcome,
            department=self.session.department,
            ticket_id=ticket.id if ticket else None,
            zone=ZoneInfo(self.loaded.flow.city.timezone),
        )
