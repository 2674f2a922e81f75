"""A report whose ticket write failed mid-call is filed from the call's events once storage
is back (by the worker's sweep job), with its SMS copy, and only once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from ivr.calls.runner import CallRunner, CallServices
from ivr.calls.stale import SWEEP_JOB, sweep_handlers
from ivr.calls.unfiled import file_unfiled, unfiled_calls
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage.models import Call, CallEvent, SmsOutbox, Ticket
from menus.registry import FlowRegistry
from speech.intents import PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Bucharest")).astimezone(UTC)
OWNER = "+40722111222"


@pytest.fixture
def services(database, tmp_path: Path) -> CallServices:
    flow = Path(shutil.copy(ROOT / "callflows.yaml", tmp_path / "callflows.yaml"))
    return CallServices(database=database, flows=FlowRegistry(flow), matcher=PhraseMatcher())


def feed(runner: CallRunner, event: ev.Event) -> list[act.Action]:
    """An event, then every prompt it brings heard at once."""
    heard = runner.feed(event)
    for action in list(heard):
        if isinstance(action, act.Say):
            heard += runner.feed(ev.PromptFinished(at=event.at, mark=action.mark))
    return heard


def a_report_storage_fails_to_file(services: CallServices) -> str:
    """Street lights, district 5, "dark street"; the tickets table is gone when the caller
    confirms and when they hang up; the call's id."""
    at = TUESDAY
    runner, actions = CallRunner.start(services, caller=OWNER, channel="test", at=at,
                                       language="en")  # fmt: skip
    for action in actions:
        if isinstance(action, act.Say):
            feed(runner, ev.PromptFinished(at=at, mark=action.mark))
    for digits in ("1", "2", "5"):
        at += timedelta(seconds=2)
        feed(runner, ev.DigitsPressed(at=at, digits=digits))
    at += timedelta(seconds=5)
    feed(runner, ev.RecordingFinished(at=at, recording_id=None, seconds=4.0,
                                      transcript="dark street"))  # fmt: skip
    with services.database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE tickets RENAME TO tickets_away"))
    at += timedelta(seconds=2)
    said = [a.text for a in feed(runner, ev.DigitsPressed(at=at, digits="1"))
            if isinstance(a, act.Say)]  # fmt: skip
    assert said[:2] == ["We are sorry, we have a technical problem.",
                        "Your report is kept and will be registered as soon as our system "
                        "works again."]  # fmt: skip
    feed(runner, ev.CallerHungUp(at=at + timedelta(seconds=3)))
    assert runner.finished
    return runner.call_id


def test_the_report_is_filed_once_storage_is_back(services, database) -> None:
    call_id = a_report_storage_fails_to_file(services)
    with database.session(read_only=True) as session:
        failed = session.scalars(select(CallEvent.payload).where(
            CallEvent.type == "StorageFailed")).all()  # fmt: skip
    assert [p["action"] for p in failed] == ["CreateTicket", "CreateTicket"]  # confirm, hang-up
    now = TUESDAY + timedelta(minutes=5)
    assert file_unfiled(services, now) == []  # storage still failing: nothing lost, no error
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE tickets_away RENAME TO tickets"))
    assert unfiled_calls(services) == [call_id]
    assert file_unfiled(services, now) == ["26-000001"]
    with database.session(read_only=True) as session:
        ticket = session.scalars(select(Ticket)).one()
        sms = session.scalars(select(SmsOutbox)).one()
        last = session.scalars(select(CallEvent).where(CallEvent.call_id == call_id)
                               .order_by(CallEvent.seq.desc())).first()  # fmt: skip
    assert (ticket.ref, ticket.draft, ticket.category, ticket.district) == (
        "26-000001", False, "street_light", 5)  # fmt: skip
    assert ticket.description == "dark street" and ticket.call_id == call_id
    assert sms.to == OWNER and "26-000001" in sms.body and "street" in sms.body.lower()
    assert last.type == "TicketCreated" and last.payload["ref"] == "26-000001"
    assert unfiled_calls(services) == [] and file_unfiled(services, now) == []


def test_the_sweep_job_files_it(services, database) -> None:
    call_id = a_report_storage_fails_to_file(services)
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE tickets_away RENAME TO tickets"))
    now = TUESDAY + timedelta(minutes=5)
    sweep_handlers(lambda: services, timedelta(minutes=10), lambda: now)[SWEEP_JOB]({})
    with database.session(read_only=True) as session:
        assert session.scalars(select(Ticket.call_id)).all() == [call_id]
        assert session.get_one(Call, call_id).ended_at is not None
