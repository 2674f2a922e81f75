"""Calls as they happen: flow versions, events in order, current node, the ending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError

from ivr.storage.calls import (
    append_event,
    call_events,
    finish_call,
    flow_source,
    save_flow_version,
    set_current_node,
    start_call,
)
from ivr.storage.db import Database
from ivr.storage.models import Call, FlowVersion

AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def started(database: Database, call_id: str = "CA1") -> None:
    with database.session() as session:
        save_flow_version(session, "v1", "flow: 1\n", "callflows.yaml", AT)
        start_call(
            session,
            call_id=call_id,
            caller="+40722111222",
            channel="twilio",
            flow_version="v1",
            language=None,
            at=AT,
        )


def test_saving_a_flow_version_twice_keeps_the_first(any_database: Database) -> None:
    with any_database.session() as session:
        save_flow_version(session, "abc", "flow: 1\n", "callflows.yaml", AT)
    with any_database.session() as session:
        save_flow_version(session, "abc", "flow: 1\n", "other.yaml", AT + timedelta(days=1))
    with any_database.session(read_only=True) as session:
        version = session.get_one(FlowVersion, "abc")
        assert (version.path, version.first_loaded_at) == ("callflows.yaml", AT)
        assert flow_source(session, "abc") == "flow: 1\n"
        assert flow_source(session, "never-saved") is None


def test_events_come_back_in_seq_order_with_their_payload(any_database: Database) -> None:
    started(any_database)
    rows = [
        (2, "action", "Say", {"prompt": "welcome.prompt", "params": {}}),
        (1, "event", "CallStarted", {"caller": "+40722111222", "at": AT}),
        (3, "event", "DigitsPressed", {"digits": "**"}),
    ]
    for seq, kind, type_, payload in rows:
        with any_database.session() as session:
            append_event(
                session,
                call_id="CA1",
                seq=seq,
                kind=kind,
                type=type_,
                payload=payload,
                at=AT + timedelta(seconds=seq),
            )
    with any_database.session(read_only=True) as session:
        events = call_events(session, "CA1")
    assert [(e.seq, e.kind, e.type) for e in events] == [
        (1, "event", "CallStarted"),
        (2, "action", "Say"),
        (3, "event", "DigitsPressed"),
    ]
    assert events[0].payload == {"caller": "+40722111222", "at": AT.isoformat()}
    assert events[2].at == AT + timedelta(seconds=3)


def test_a_seq_is_stored_once_per_call(any_database: Database) -> None:
    started(any_database)
    event = {"call_id": "CA1", "seq": 1, "kind": "event", "type": "X", "payload": {}, "at": AT}
    with any_database.session() as session:
        append_event(session, **event)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError), any_database.session() as session:
        append_event(session, **event)  # type: ignore[arg-type]


def test_current_node_and_finish(any_database: Database) -> None:
    started(any_database)
    with any_database.session() as session:
        set_current_node(session, "CA1", "report_category")
    with any_database.session() as session:
        finish_call(
            session,
            call_id="CA1",
            at=AT + timedelta(minutes=3),
            outcome="ticket",
            department="roads",
            ticket_id=7,
            zone=ZoneInfo("Europe/Bucharest"),
        )
    with any_database.session(read_only=True) as session:
        call = session.get_one(Call, "CA1")
    assert (call.current_node, call.outcome, call.department, call.ticket_id) == (
        "report_category",
        "ticket",
        "roads",
        7,
    )
    assert call.ended_at == AT + timedelta(minutes=3)


def test_finishing_an_unknown_call_raises(any_database: Database) -> None:
    with pytest.raises(LookupError), any_database.session() as session:
        finish_call(
            session,
            call_id="nope",
            at=AT,
            outcome="x",
            department=None,
            ticket_id=None,
            zone=ZoneInfo("UTC"),
        )
