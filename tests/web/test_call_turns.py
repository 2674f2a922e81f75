"""A call run through the CallRunner on the Korean test flow, then read on the site: its
turns' reply latency is wall-clock time from the input to the reply (not the events' own
times, which the actions share), and the call log's intent filter finds it by the choice it
made at the main menu."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from phone_site import KOREAN_FLOW
from site_data import PASSWORD, login
from sqlalchemy import select

from ivr.calls.runner import CallRunner
from ivr.calls.turns import turns
from ivr.config import Settings
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage.calls import call_events
from ivr.storage.directory import add_user
from ivr.storage.models import CallChoice
from ivr.web import create_app
from ivr.web.callfilter import intent_choices


@pytest.fixture
def app(tmp_path: Path):
    app = create_app(Settings(data_dir=tmp_path, flow_path=KOREAN_FLOW, secret_key="test"))
    app.config["TESTING"] = True
    with app.extensions["civicline"].database.session() as session:
        add_user(session, "super", PASSWORD, "supervisor")
    return app


def _at_main_menu(app, at: datetime) -> tuple[CallRunner, datetime]:
    """A call whose welcome and notice were heard, each event an hour after the one before
    (so event times cannot pass for reply times); the runner and the last event's time."""
    services = app.extensions["civicline"]
    runner, actions = CallRunner.start(services, caller="+359888123456", channel="test", at=at)
    while runner.session.node != "main":
        at += timedelta(hours=1)
        mark = next(a.mark for a in reversed(actions) if isinstance(a, act.Say))
        actions = runner.feed(ev.PromptFinished(at=at, mark=mark))
    return runner, at


def _report_call(app, at: datetime) -> str:
    """1 at the main menu (a report), then the caller hangs up."""
    runner, at = _at_main_menu(app, at)
    runner.feed(ev.DigitsPressed(at=at + timedelta(hours=1), digits="1"))
    assert runner.session.node == "report_district"
    runner.feed(ev.CallerHungUp(at=at + timedelta(hours=2)))
    return runner.call_id


def test_reply_latency_is_the_wall_clock_time_to_the_reply(app):
    call_id = _report_call(app, datetime(2026, 11, 24, 8, tzinfo=UTC))
    with app.extensions["civicline"].database.session() as session:
        rows = call_events(session, call_id)
        assert all(row.stored_at is not None for row in rows)
        found = turns(rows)
    keyed = next(turn for turn in found if turn.input == "keys")
    assert keyed.node == "main" and keyed.target == "report_district"
    assert keyed.latency is not None and 0 <= keyed.latency < 5  # not the hour between events
    client = app.test_client()
    login(client, "super")
    page = client.get(f"/calls/{call_id}").get_data(as_text=True)
    assert re.search(r"<td>\d+ ms</td>", page)


def test_a_confirmation_question_is_its_own_turn_result(app):
    runner, at = _at_main_menu(app, datetime(2026, 11, 24, 8, tzinfo=UTC))
    runner.feed(ev.SpeechRecognized(at=at, text="나무", confidence=0.5))
    runner.feed(ev.SpeechRecognized(at=at, text="네", confidence=0.9))
    with app.extensions["civicline"].database.session() as session:
        found = turns(call_events(session, runner.call_id))
    assert [(t.node, t.value, t.result, t.target) for t in found] == [
        ("main", "나무", "confirm", None),
        ("main", "네", "choice", "report_district"),
    ]
    client = app.test_client()
    login(client, "super")
    page = client.get(f"/calls/{runner.call_id}").get_data(as_text=True)
    assert "<td>Asked to confirm</td>" in page


def test_turns_stored_without_a_wall_clock_time_show_no_latency(app):
    call_id = _report_call(app, datetime(2026, 11, 24, 8, tzinfo=UTC))
    database = app.extensions["civicline"].database
    with database.session() as session:
        for row in call_events(session, call_id):
            row.stored_at = None
    with database.session() as session:
        assert all(turn.latency is None for turn in turns(call_events(session, call_id)))


def test_the_call_log_filters_by_the_intent_chosen(app):
    assert intent_choices(app.extensions["civicline"].flows.current().flow)["main:report"] == (
        "main",
        "report_district",
    )
    call_id = _report_call(app, datetime(2026, 11, 24, 8, tzinfo=UTC))
    with app.extensions["civicline"].database.session() as session:
        choices = session.scalars(select(CallChoice).where(CallChoice.call_id == call_id)).all()
        assert [(c.node, c.target) for c in choices] == [("main", "report_district")]
    client = app.test_client()
    login(client, "super")
    chosen = client.get("/calls?intent=main:report").get_data(as_text=True)
    assert f"/calls/{call_id}" in chosen
    assert '<option value="main:report" selected>Main: ' in chosen  # the intent by its words
    other = client.get("/calls?intent=main:callback").get_data(as_text=True)
    assert f"/calls/{call_id}" not in other and "No calls match." in other
    unknown = client.get("/calls?intent=nowhere:nothing")
    assert unknown.status_code == 400 and "main:report" in unknown.get_data(as_text=True)
    csv = client.get("/calls.csv?intent=main:report").get_data(as_text=True)
    assert call_id in csv
