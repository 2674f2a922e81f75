"""Callbacks that cannot be placed at their time are booked again, visibly: the demo city
(no officers on record) hands a callback to the next rung of its ladder, whose number the
flow holds; a worker down for two days rebooks the stale callbacks instead of ringing one
officer eight times; each citizen is texted the new time and the callbacks page shows it.
The real `twilio` client against the local stand-in, the worker's clock moved by hand."""

from __future__ import annotations

from datetime import timedelta

from callback_flows import demo_flow
from callback_line import BUCHAREST, ROOT, TUESDAY_TEN
from callback_site import supervisor_client
from callback_worker import OFFICER_PHONE, add_officer, run_all, worker
from click.testing import CliRunner
from flask import Flask
from hand_clock import Clock
from sqlalchemy import select
from twilio_rest_standin import TwilioStandIn

from ivr.callbacks.calls import leg_status
from ivr.callbacks.jobs import CallbackJobs, LoggingOutboundCaller
from ivr.cli import main
from ivr.config import Settings
from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import Callback
from menus.registry import FlowRegistry

HEAD_OF_SERVICE = "+40264000200"
"""The head of service's number in callflows.yaml's ladder."""
RESCHEDULED = "could not call you at the booked time"


def book(database: Database, caller: str) -> int:
    with database.session() as session:
        callback = callbacks.book_first_free(
            session,
            demo_flow(),
            caller=caller,
            department="roads",
            language="en",
            call_id=None,
            ticket_id=None,
            at=TUESDAY_TEN - timedelta(minutes=10),
        )
        assert callback is not None
        return callback.id


def rows(database: Database) -> list[Callback]:
    with database.session(read_only=True) as session:
        found = list(session.scalars(select(Callback).order_by(Callback.id)))
        session.expunge_all()
        return found


def local(callback: Callback) -> str:
    return callback.slot_start.astimezone(BUCHAREST).strftime("%d.%m %H:%M")


def test_nobody_on_duty_hands_the_callback_to_the_next_rung_and_tells_the_citizen(
    demo_app: Flask,
    demo_settings: Settings,
    demo_db: Database,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    book(demo_db, "+40722111222")  # the demo city: no officer on record
    [booked] = rows(demo_db)
    clock.now = booked.slot_start + timedelta(seconds=5)
    jobs = worker(demo_db, standin, clock)
    run_all(jobs)
    assert standin.calls == []
    [moved] = rows(demo_db)
    assert (moved.status, moved.role) == ("booked", "head_of_service")
    assert moved.slot_start > clock.now
    assert moved.outcome is not None and "nobody to call" in moved.outcome
    [told] = [m for m in standin.messages if RESCHEDULED in m["body"]]
    assert told["to"] == "+40722111222"
    assert "the head of service" in told["body"] and local(moved) in told["body"]

    day = moved.slot_start.astimezone(BUCHAREST).date().isoformat()
    page = supervisor_client(demo_app, demo_db).get(f"/callbacks?day={day}")
    html = page.get_data(as_text=True)
    assert "the head of service" in html and "rescheduled from" in html and "nobody to call" in html

    env = {
        "CIVICLINE_DATABASE_URL": str(demo_db.url),
        "CIVICLINE_DATA_DIR": str(demo_settings.data_dir),
        "CIVICLINE_FLOW_PATH": str(ROOT / "callflows.yaml"),
    }
    listed = CliRunner().invoke(main, ["callbacks", "list", "--day", day], env=env)
    assert listed.exit_code == 0, listed.output
    [line] = listed.output.splitlines()
    assert "booked" in line and "head_of_service" in line and "nobody to call" in line
    assert "+40 722 *** 222" in line and "+40722111222" not in line

    clock.now = moved.slot_start + timedelta(seconds=5)
    run_all(jobs)
    assert [c["to"] for c in standin.calls] == [HEAD_OF_SERVICE]


def test_after_a_two_day_outage_stale_callbacks_are_rebooked_not_dialled(
    demo_db: Database, standin: TwilioStandIn, clock: Clock
) -> None:
    add_officer(demo_db, capacity=8)
    citizens = [f"+4072211100{n}" for n in range(8)]
    for citizen in citizens:
        book(demo_db, citizen)
    slot = rows(demo_db)[0].slot_start
    assert {c.slot_start for c in rows(demo_db)} == {slot}
    clock.now = slot + timedelta(days=2, minutes=1)  # the worker comes back on Thursday
    jobs = worker(demo_db, standin, clock)
    run_all(jobs)
    assert standin.calls == []
    moved = rows(demo_db)
    assert all(c.status == "booked" and c.slot_start > clock.now for c in moved)
    assert all(c.outcome and c.outcome.startswith("rescheduled from") for c in moved)
    told = {m["to"]: m["body"] for m in standin.messages if RESCHEDULED in m["body"]}
    assert sorted(told) == citizens
    assert all(local(c) in told[c.caller] for c in moved)

    clock.now = max(c.slot_start for c in moved) + timedelta(seconds=1)
    run_all(jobs)  # the new slots are due: the officer is in one call at a time
    assert [c["to"] for c in standin.calls] == [OFFICER_PHONE]
    first = standin.calls[0]
    callback_id = int(first["url"].split("/")[-2])
    with demo_db.session() as session:
        leg_status(
            session, demo_flow(), callback_id, "officer", 1, first["sid"], "completed", clock.now
        )
    clock.now += timedelta(minutes=1)
    run_all(jobs)
    assert len(standin.calls) == 2 and standin.calls[1]["sid"] != first["sid"]


def test_without_twilio_logged_calls_keep_no_officer_busy(demo_db: Database, clock: Clock) -> None:
    add_officer(demo_db, capacity=2)
    book(demo_db, "+40722111222")
    book(demo_db, "+40722111333")
    clock.now = rows(demo_db)[0].slot_start + timedelta(seconds=5)
    jobs = CallbackJobs(
        demo_db, FlowRegistry(ROOT / "callflows.yaml"), LoggingOutboundCaller(), clock
    )
    for row in rows(demo_db):
        jobs.place({"callback_id": row.id, "slot": row.slot_start.isoformat()})
    assert [c.status for c in rows(demo_db)] == ["placed", "placed"]
