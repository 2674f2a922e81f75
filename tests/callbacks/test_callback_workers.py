"""Exactly once with real workers: two workers on one PostgreSQL never call or text twice,
nor ring one officer for two callbacks at once,
and an `ivr worker` killed (SIGKILL) in the middle of placing a call is restarted and the
call is placed once, found at the stand-in instead of placed again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from callback_flows import DEMO_FLOW_PATH, demo_flow
from callback_line import TUESDAY_TEN
from callback_twilio import PUBLIC_URL, SignedTwilio, path
from callback_worker import add_officer
from sqlalchemy import select
from twilio_rest_standin import ACCOUNT, OUR_NUMBER, TOKEN, TwilioStandIn, running_standin

from ivr.callbacks.calls import leg_status
from ivr.callbacks.jobs import CallbackJobs
from ivr.config import Settings
from ivr.jobs import Worker
from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import Callback, CallbackAttempt, Job
from ivr.storage.queue import enqueue
from ivr.web import create_app
from menus.registry import FlowRegistry
from webhooks.callback_calls import TwilioOutboundCaller
from webhooks.sms_sender import TwilioSmsSender, sms_handlers

CALLBACKS = 8


def work(url: str, standin: TwilioStandIn, name: str, now: datetime, start: Any) -> None:
    database = Database(url)
    client = standin.client()
    caller = TwilioOutboundCaller(client, OUR_NUMBER, "https://city.example")
    jobs = CallbackJobs(database, FlowRegistry(DEMO_FLOW_PATH), caller, lambda: now)
    handlers = {**jobs.handlers(), **sms_handlers(database, TwilioSmsSender(client, OUR_NUMBER))}
    worker = Worker(database, handlers, worker_id=name, clock=lambda: now)
    try:
        start.wait()
        while worker.run_once():
            pass
    finally:
        database.dispose()


def run_two_workers(url: str, standin: TwilioStandIn, now: datetime) -> None:
    start = threading.Barrier(2)
    threads = [
        threading.Thread(target=work, args=(url, standin, name, now, start))
        for name in ("w1", "w2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def end_call(database: Database, call: dict[str, Any], at: datetime) -> None:
    """Twilio reports the officer's call over (the officer's status callback)."""
    callback_id = int(call["url"].split("/")[-2])
    with database.session() as session:
        leg_status(session, demo_flow(), callback_id, "officer", 1, call["sid"], "completed", at)


def test_two_workers_on_postgresql_never_call_or_text_twice(pg_url: str) -> None:
    database = Database(pg_url)
    database.upgrade()
    add_officer(database, CALLBACKS)
    booked_at = TUESDAY_TEN - timedelta(hours=4)
    with database.session() as session:
        for n in range(CALLBACKS):
            callback = callbacks.book_first_free(
                session,
                demo_flow(),
                caller=f"+4072211100{n}",
                department="roads",
                language="en",
                call_id=None,
                ticket_id=None,
                at=booked_at,
            )
            assert callback is not None
            payload = {"callback_id": callback.id, "slot": callback.slot_start.isoformat()}
            enqueue(session, "callback.place", payload, at=booked_at, run_after=callback.slot_start)
        slot = callback.slot_start
    with running_standin() as standin:
        run_two_workers(pg_url, standin, slot - timedelta(minutes=59))  # the reminders
        texted = Counter(m["to"] for m in standin.messages)
        for minute in range(CALLBACKS):  # the officer is in one callback call at a time
            now = slot + timedelta(minutes=minute, seconds=1)
            run_two_workers(pg_url, standin, now)
            assert len(standin.calls) == minute + 1
            end_call(database, standin.calls[-1], now + timedelta(seconds=30))
        called = Counter(c["url"] for c in standin.calls)
    database.dispose()
    assert len(texted) == CALLBACKS and set(texted.values()) == {1}
    assert len(called) == CALLBACKS and set(called.values()) == {1}


def always_open_flow(tmp_path: Path) -> Path:
    """The demo flow with an office that never closes, so the real clock never waits."""
    data = yaml.safe_load(DEMO_FLOW_PATH.read_text())
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    every_day = {day: ["00:00-24:00"] for day in days}
    data["schedules"]["office"] = {"weekly": every_day, "public_holidays": False}
    path = tmp_path / "callflows.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def start_worker(
    tmp_path: Path, url: str, flow: Path, standin: TwilioStandIn
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(tmp_path / "data"),
        "CIVICLINE_DATABASE_URL": url,
        "CIVICLINE_FLOW_PATH": str(flow),
        "CIVICLINE_PUBLIC_URL": PUBLIC_URL,
        "CIVICLINE_TWILIO_ACCOUNT_SID": ACCOUNT,
        "CIVICLINE_TWILIO_AUTH_TOKEN": TOKEN,
        "CIVICLINE_TWILIO_FROM": OUR_NUMBER,
        "CIVICLINE_TWILIO_API_URL": standin.url,
        "CIVICLINE_WORKER_LEASE_SECONDS": "1",
        "CIVICLINE_WORKER_POLL_SECONDS": "0.2",
    }
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("ivr")), "worker"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def site_settings(tmp_path: Path, url: str, flow: Path) -> Settings:
    """The site that hears Twilio's status callbacks, on the worker's database."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        flow_path=flow,
        public_url=PUBLIC_URL,
        twilio_auth_token=TOKEN,
        secret_key="test",
    )


def place_jobs(database: Database) -> list[str]:
    with database.session(read_only=True) as session:
        return list(session.scalars(select(Job.status).where(Job.kind == "callback.place")))


def attempt_rows(database: Database) -> list[tuple[str, str | None]]:
    with database.session(read_only=True) as session:
        return [(a.status, a.provider_sid) for a in session.scalars(select(CallbackAttempt))]


def test_a_worker_killed_mid_call_is_restarted_and_the_call_is_placed_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    database = Database(sqlite_url)
    database.upgrade()
    add_officer(database, 1)
    now = datetime.now(UTC)
    with database.session() as session:
        callbacks.book_callback(
            session,
            caller="+40722111222",
            department="roads",
            slot_start=now - timedelta(minutes=1),
            language="ro",
            call_id=None,
            ticket_id=None,
            at=now - timedelta(hours=2),
        )
    flow = always_open_flow(tmp_path)
    with running_standin() as standin:
        standin.hold_calls.set()
        first = start_worker(tmp_path, sqlite_url, flow, standin)
        try:
            wait_for(lambda: len(standin.calls) == 1, "the worker to ask for the call")
            assert attempt_rows(database) == [("dialing", None)]
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        standin.release.set()  # Twilio has the call; nobody heard its answer
        [call] = standin.calls
        report = {"CallSid": call["sid"], "CallStatus": "initiated"}
        app = create_app(site_settings(tmp_path, sqlite_url, flow))
        site = SignedTwilio(app.test_client(), token=TOKEN)
        assert site.post(path(call["status_callback"]), report).status_code == 204
        second = start_worker(tmp_path, sqlite_url, flow, standin)
        try:
            wait_for(lambda: place_jobs(database) == ["done"], "the placement to be settled")
        finally:
            second.terminate()
            output, _ = second.communicate(timeout=30)
        assert len(standin.calls) == 1, output
        assert attempt_rows(database) == [("initiated", call["sid"])]
        with database.session(read_only=True) as session:
            assert session.scalars(select(Callback.status)).one() == "placed"
    database.dispose()
