"""The stale-call sweeper on real SQLite and PostgreSQL: a call abandoned by its runner (its
process died) is ended as the caller's hang-up, with a draft ticket for a half-made report;
recent calls and calls in transfer are left alone; two sweeps end a call once."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

import ivr.calls.stale
from ivr.calls.runner import CallRunner, CallServices
from ivr.calls.stale import (
    SWEEP_EVERY,
    SWEEP_JOB,
    schedule_sweep,
    stale_calls,
    sweep,
    sweep_handlers,
)
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage import calls, line_nodes
from ivr.storage import twilio as twilio_store
from ivr.storage.models import (
    Call,
    Callback,
    CallEvent,
    CallHourStats,
    Job,
    LineNode,
    Officer,
    SmsOutbox,
    Ticket,
)
from menus.registry import FlowRegistry
from speech.intents import PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Bucharest")).astimezone(UTC)
LIMIT = timedelta(minutes=10)


@pytest.fixture
def services(any_database, tmp_path: Path) -> CallServices:
    flow = Path(shutil.copy(ROOT / "callflows.yaml", tmp_path / "callflows.yaml"))
    return CallServices(database=any_database, flows=FlowRegistry(flow), matcher=PhraseMatcher())


def abandoned_call(
    services: CallServices, *keys: str, at: datetime = TUESDAY, channel: str = "test"
) -> tuple[str, datetime]:
    """A call keyed as far as `keys`, then left by its runner; its id and last activity."""
    runner, actions = CallRunner.start(services, caller="+40722111222", channel=channel, at=at,
                                       language="en")  # fmt: skip
    for digits in ("", *keys):
        if digits:
            at += timedelta(seconds=2)
            actions = runner.feed(ev.DigitsPressed(at=at, digits=digits))
        for action in actions:
            if isinstance(action, act.Say):
                runner.feed(ev.PromptFinished(at=at, mark=action.mark))
    with services.database.session() as db:  # as if the call had run live at those times
        db.execute(
            update(CallEvent)
            .where(CallEvent.call_id == runner.call_id)
            .values(stored_at=CallEvent.at)
        )
    return runner.call_id, at


def open_call_ids(services: CallServices) -> list[str]:
    """The Live page's calls: those without an end."""
    with services.database.session(read_only=True) as db:
        return list(db.scalars(select(Call.id).where(Call.ended_at.is_(None))))


def test_a_call_abandoned_mid_report_is_swept_into_a_draft_ticket(services):
    call_id, last = abandoned_call(services, "1", "3")  # a report about waste, not filed
    assert open_call_ids(services) == [call_id]
    assert sweep(services, now=last + LIMIT - timedelta(seconds=1), limit=LIMIT) == []
    assert sweep(services, now=last + LIMIT + timedelta(seconds=1), limit=LIMIT) == [call_id]
    with services.database.session(read_only=True) as db:
        call = db.get_one(Call, call_id)
        ticket = db.scalars(select(Ticket)).one()
        hours = db.scalars(select(CallHourStats)).all()
    assert ticket.draft and ticket.status == "draft" and ticket.category == "waste"
    assert call.outcome == "swept" and ticket.call_id == call_id
    assert call.ended_at is not None and call.ended_at.astimezone(UTC) == last
    assert call.department == "sanitation"
    assert [(h.outcome, h.calls) for h in hours] == [("swept", 1)]
    assert open_call_ids(services) == []
    assert sweep(services, now=last + 2 * LIMIT, limit=LIMIT) == []  # nothing twice


def test_a_call_in_answered_transfer_is_not_swept_until_the_transfer_limit(services):
    call_id, last = abandoned_call(services, "4", "1")  # urbanism, in office hours
    assert sweep(services, now=last + 10 * LIMIT, limit=LIMIT) == []
    assert open_call_ids(services) == [call_id]
    later = last + ivr.calls.stale.TRANSFER_LIMIT + timedelta(seconds=1)
    assert sweep(services, now=later, limit=LIMIT) == [call_id]
    with services.database.session(read_only=True) as db:
        assert db.get_one(Call, call_id).outcome == "swept"
        assert db.scalars(select(Ticket)).all() == []


def test_two_sweeps_at_once_end_a_call_once(services, monkeypatch):
    call_id, last = abandoned_call(services, "1", "3")
    now = last + 2 * LIMIT
    found_by_both = stale_calls(services, now=now, limit=LIMIT)
    assert [c for c, _ in found_by_both] == [call_id]
    assert sweep(services, now=now, limit=LIMIT) == [call_id]
    # the second sweeper found the call before the first claimed it
    monkeypatch.setattr(ivr.calls.stale, "stale_calls", lambda *a, **k: found_by_both)
    assert sweep(services, now=now, limit=LIMIT) == []
    with services.database.session(read_only=True) as db:
        assert len(db.scalars(select(Ticket)).all()) == 1
        assert [h.calls for h in db.scalars(select(CallHourStats))] == [1]


def test_the_sweep_job_sweeps_and_queues_the_next(services):
    call_id, last = abandoned_call(services, "1", "3")
    now = last + 2 * LIMIT
    assert schedule_sweep(services.database, now) and not schedule_sweep(services.database, now)
    minute = now.replace(second=0, microsecond=0) + SWEEP_EVERY
    handlers = sweep_handlers(lambda: services, LIMIT, lambda: minute)
    handlers[SWEEP_JOB]({})
    handlers[SWEEP_JOB]({})  # the same run again (taken over): the next is queued once
    with services.database.session(read_only=True) as db:
        assert db.get_one(Call, call_id).outcome == "swept"
        queued = db.scalars(select(Job.run_after).where(Job.kind == SWEEP_JOB)).all()
    assert sorted(at.astimezone(UTC) for at in queued) == [minute, minute + SWEEP_EVERY]


def test_a_call_on_simulated_time_is_judged_by_when_its_rows_were_written(services):
    """`ivr call --at` in the past: its times are old, but it is going on right now."""
    past = datetime(2026, 1, 6, 8, 0, tzinfo=UTC)
    runner, _ = CallRunner.start(services, caller="+40722111222", channel="terminal",
                                 at=past, language="en")  # fmt: skip
    runner.feed(ev.DigitsPressed(at=past + timedelta(seconds=2), digits="1"))
    assert stale_calls(services, now=datetime.now(UTC), limit=LIMIT) == []
    later = datetime.now(UTC) + LIMIT + timedelta(seconds=1)
    assert [call for call, _ in stale_calls(services, now=later, limit=LIMIT)] == [runner.call_id]


def callback_call_row(services: CallServices) -> str:
    """The row a callback call's recording webhook stores: no events, never ended by it."""
    loaded = services.flows.current()
    with services.database.session() as db:
        calls.save_flow_version(db, loaded.version, loaded.source, loaded.path, TUESDAY)
        calls.start_call(db, call_id="CA" + "0" * 32, caller="+40722111222", channel="callback",
                         flow_version=loaded.version, language="en", at=TUESDAY)  # fmt: skip
    return "CA" + "0" * 32


def test_a_callback_call_row_is_not_swept_and_holds_up_nothing(services):
    callback = callback_call_row(services)
    call_id, last = abandoned_call(services, "1", "3")
    now = last + 2 * LIMIT
    assert stale_calls(services, now=now, limit=LIMIT) == [(call_id, last)]
    assert sweep(services, now=now, limit=LIMIT) == [call_id]
    with services.database.session(read_only=True) as db:
        row = db.get_one(Call, callback)
        assert (row.outcome, row.ended_at) == (None, None)
        assert calls.call_events(db, callback) == []


def test_a_call_that_cannot_be_replayed_is_ended_and_the_others_still_swept(services):
    broken, broken_last = abandoned_call(services, "1")
    with services.database.session() as db:  # a row the engine refuses on replay
        calls.append_event(db, call_id=broken, seq=999, kind="event", type="CallStarted",
                           payload={"at": broken_last.isoformat(), "call_id": broken,
                                    "caller": None, "channel": "test", "language": "en"},
                           at=broken_last, stored_at=broken_last)  # fmt: skip
    call_id, last = abandoned_call(services, "1", "3")
    now = max(last, broken_last) + 2 * LIMIT
    assert sorted(sweep(services, now=now, limit=LIMIT)) == sorted([broken, call_id])
    with services.database.session(read_only=True) as db:
        ended = db.get_one(Call, broken)
        assert ended.outcome == "swept" and ended.ended_at.astimezone(UTC) == broken_last
        assert db.get_one(Call, call_id).outcome == "swept"
        assert len(db.scalars(select(Ticket)).all()) == 1
    assert open_call_ids(services) == []


def test_a_sip_call_whose_node_died_ends_at_once_with_a_draft_and_a_callback_offered(services):
    node = replace(services, carrier="sip:10.0.0.21:5070")
    with services.database.session() as db:
        line_nodes.announce(db, node.carrier, TUESDAY)
        db.add(Officer(name="Ana", department="sanitation", callback_capacity=1, active=True))
    lost, last = abandoned_call(node, "1", "3")  # a report about waste, on the SIP node
    alive, _ = abandoned_call(services, "1", "3")  # a call no node carries
    soon = last + timedelta(seconds=1)
    assert sweep(services, now=soon, limit=LIMIT) == []  # the node beats: its call lives
    with services.database.session() as db:
        line_nodes.beat(db, node.carrier, soon)
    dead = soon + line_nodes.NODE_TIMEOUT + timedelta(seconds=1)
    assert sweep(services, now=dead, limit=LIMIT) == [lost]  # long before the stale minutes
    with services.database.session(read_only=True) as db:
        call = db.get_one(Call, lost)
        ticket = db.scalars(select(Ticket)).one()
        callback = db.scalars(select(Callback)).one()
        [sms] = db.scalars(select(SmsOutbox)).all()
    assert call.ended_at is not None and call.outcome == "swept"
    assert ticket.draft and ticket.category == "waste" and ticket.call_id == lost
    assert (callback.caller, callback.department, callback.ticket_id) == (
        "+40722111222",
        "sanitation",
        ticket.id,
    )
    assert callback.slot_start.astimezone(UTC) > dead
    assert sms.template == "callback_sms.dropped" and sms.to == "+40722111222"
    assert "cut off" in sms.body and "Reply 1 to confirm" in sms.body
    assert open_call_ids(services) == [alive]


def test_a_sip_node_started_again_ends_the_calls_of_its_previous_life_at_once(services):
    node = replace(services, carrier="sip:10.0.0.21:5070")
    with services.database.session() as db:
        line_nodes.announce(db, node.carrier, TUESDAY)
    lost, last = abandoned_call(node, "1")
    with services.database.session() as db:
        line_nodes.announce(db, node.carrier, last + timedelta(seconds=5))  # the restart
    assert sweep(services, now=last + timedelta(seconds=5), limit=LIMIT) == [lost]
    with services.database.session(read_only=True) as db:
        [sms] = db.scalars(select(SmsOutbox)).all()
    assert (sms.template, sms.to) == ("callback_sms.dropped", "+40722111222")


def carried_stream(services: CallServices, call_id: str, node: str, at: datetime) -> None:
    """A Media Stream of the call starts on the serve worker `node`."""
    with services.database.session() as db:
        token = twilio_store.issue_token(db, call_id, [], at)
        assert twilio_store.redeem_token(db, token, call_id, at, node=node) == []


def test_a_twilio_call_whose_stream_node_died_ends_at_once_only_when_twilio_says_it_ended(
    services,
):
    """Twilio moves a call whose stream broke to /twilio/next on another node, unless the
    caller is gone: the sweeper ends it at once only after a final status callback, as the
    caller's hang-up (a draft, no callback offered)."""
    node, fresh = "serve:web1:4242", "serve:web2:77"
    with services.database.session() as db:
        line_nodes.announce(db, node, TUESDAY)
    lost, last = abandoned_call(services, "1", "3", channel="twilio")
    carried_stream(services, lost, node, last)
    with services.database.session() as db:
        line_nodes.beat(db, node, last)
        line_nodes.announce(db, fresh, last)  # a worker started after the next call began
    moved, _ = abandoned_call(services, "1", at=last - timedelta(seconds=10), channel="twilio")
    carried_stream(services, moved, fresh, last)
    dead = last + line_nodes.NODE_TIMEOUT + timedelta(seconds=1)
    with services.database.session() as db:
        line_nodes.beat(db, fresh, dead)
    assert sweep(services, now=dead, limit=LIMIT) == []  # Twilio is resuming it elsewhere
    with services.database.session() as db:
        for call_id in (lost, moved):
            twilio_store.record_status(db, call_id, 9, "completed", dead)
    assert sweep(services, now=dead, limit=LIMIT) == [lost]  # `moved`'s stream sees the end
    with services.database.session(read_only=True) as db:
        call = db.get_one(Call, lost)
        ticket = db.scalars(select(Ticket).where(Ticket.call_id == lost)).one()
        texts = db.scalars(select(SmsOutbox)).all()
        carried = db.get_one(Call, moved).carried_by
    assert call.ended_at is not None and call.outcome == "swept"
    assert ticket.draft and ticket.category == "waste"
    assert texts == [] and carried == fresh


def test_a_dead_node_is_forgotten_a_day_after_its_last_beat_unless_it_carries_an_open_call(
    services,
):
    gone, carrying = "serve:web1:4242", "sip:10.0.0.21:5070"
    with services.database.session() as db:
        for name in (gone, carrying):
            line_nodes.announce(db, name, TUESDAY)
    abandoned_call(replace(services, carrier=carrying), "1")
    later = TUESDAY + line_nodes.FORGOTTEN_AFTER + timedelta(minutes=1)
    with services.database.session() as db:
        line_nodes.announce(db, "serve:web1:5151", later)
    with services.database.session(read_only=True) as db:
        names = set(db.scalars(select(LineNode.name)))
    assert names == {carrying, "serve:web1:5151"}
