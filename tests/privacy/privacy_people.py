"""A caller's data made through the real code paths (CallRunner on the demo flow, the local
recording store, the storage functions), and a search of a whole database for a trace."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, String, Text, cast, select

from ivr.calls.runner import CallRunner, CallServices
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.privacy.periods import Retention
from ivr.recordings import Recordings
from ivr.storage.db import Database
from ivr.storage.models import SmsInbound, SmsOptOut, Ticket, TicketNote
from ivr.storage.models.base import Base
from menus.registry import FlowRegistry
from speech.audio import PHONE_RATE, wav_bytes
from speech.intents import PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Bucharest")).astimezone(UTC)
PERSON = "+40722111222"
NATIONAL = "722111222"
WORDS = "hole by Popescu's gate"
"""The description the person says: a surname and transcript words to look for later."""
OTHER = "+40733444555"
DEFAULTS = Retention(
    recordings=90, transcripts=180, caller_numbers=365, languages=365, sms_bodies=90,
    call_events=180,
)  # fmt: skip
"""The retention periods `ivr.config.Settings` defaults to, spelled out for the tests' dates."""


def services(database: Database, tmp_path: Path) -> CallServices:
    flow = Path(shutil.copy(ROOT / "callflows.yaml", tmp_path / "callflows.yaml"))
    return CallServices(database=database, flows=FlowRegistry(flow), matcher=PhraseMatcher())


def wav(seconds: float = 1.0) -> bytes:
    return wav_bytes(b"\x01\x02" * int(PHONE_RATE * seconds), PHONE_RATE)


class Line:
    """A channel: prompts heard at once; a call recording once StartCallRecording comes."""

    def __init__(
        self,
        services: CallServices,
        store: Recordings,
        caller: str | None,
        at: datetime,
        language: str | None = "en",
    ) -> None:
        self.at, self.store = at, store
        self.recording_call = False
        self.runner, actions = CallRunner.start(
            services, caller=caller, channel="test", at=at, language=language
        )
        self._hear(actions)

    def _hear(self, actions: list[act.Action]) -> None:
        for action in actions:
            if isinstance(action, act.StartCallRecording):
                self.recording_call = True
            if isinstance(action, act.Say):
                self._hear(self.runner.feed(ev.PromptFinished(at=self.at, mark=action.mark)))

    def send(self, event: type[ev.Event], **fields: object) -> None:
        self.at += timedelta(seconds=2)
        self._hear(self.runner.feed(event(at=self.at, **fields)))

    def keys(self, *presses: str) -> Line:
        for digits in presses:
            self.send(ev.DigitsPressed, digits=digits)
        return self

    def describe(self, words: str) -> Line:
        stored = self.store.save_wav(self.runner.call_id, "description", wav(), self.at)
        self.send(ev.RecordingFinished, recording_id=stored.id, seconds=3.0, transcript=words)
        return self

    def hang_up(self) -> None:
        self.send(ev.CallerHungUp)
        if self.recording_call:
            self.store.save_wav(self.runner.call_id, "call", wav(2), self.at)


def make_person(
    services: CallServices,
    store: Recordings,
    number: str,
    at: datetime,
    words: str = WORDS,
    name: str = "Popescu",
) -> str:
    """A report with a description (and the call recorded), a language remembered and a
    callback booked, a status look-up, an SMS received, an opt-out and a note about them.
    The ref of the report."""
    report = Line(services, store, number, at).keys("1", "1", "3").describe(words).keys("1")
    report.hang_up()
    with services.database.session() as session:
        ref = session.scalars(select(Ticket.ref).where(Ticket.caller == number)).one()
    callback = Line(services, store, number, at + timedelta(hours=1), language=None)
    callback.keys("2", "3", "1").hang_up()
    status = Line(services, store, number, at + timedelta(hours=2))
    status.keys("2", ref.replace("-", "")).hang_up()
    with services.database.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ref == ref)).one()
        session.add(
            TicketNote(
                ticket_id=ticket.id,
                kind="note",
                body=f"Mr {name} called from 0{number[3:]} again",
                author="ana",
                at=at,
            )
        )
        session.add(
            SmsInbound(
                message_sid=f"SM{number[1:]}",
                sender=number,
                body=f"STATUS {ref}",
                command="status",
                received_at=at,
            )
        )
        session.add(SmsOptOut(number=number, at=at))
    return ref


def traces(database: Database, *needles: str) -> list[tuple[str, str, object]]:
    """(table, column, value) for every text or JSON value of every table holding a needle."""
    found = []
    with database.session(read_only=True) as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON):
                    continue
                text = cast(column, Text) if isinstance(column.type, JSON) else column
                for needle in needles:
                    query = select(column).where(text.contains(needle, autoescape=True))
                    found += [(table.name, column.name, v) for v in session.scalars(query)]
    return found
