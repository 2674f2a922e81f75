"""A supervisor site over a seeded SQLite database, for the web tests: three users (admin,
supervisor, an officer of `roads`), a finished call in `roads` with a recording, a ticket
and a callback, one in `taxes`, one in progress, and XSS payloads where callers and SMS
can put text."""

from __future__ import annotations

import io
import shutil
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from ivr.config import Settings
from ivr.recordings import recording_store
from ivr.storage import calls
from ivr.storage.accounts import link_departments
from ivr.storage.callbacks import book_callback
from ivr.storage.directory import add_user
from ivr.storage.models import Officer
from ivr.storage.tickets import create_ticket, new_pin
from ivr.web import create_app

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
XSS = "<script>alert('xss')</script>"
STARTED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@dataclass(frozen=True)
class Site:
    app: Flask
    settings: Settings
    roads_call: str
    taxes_call: str
    live_call: str
    roads_ref: str
    taxes_ref: str
    recording_id: str
    callback_id: int


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x01\x00" * int(seconds * rate))
    return buffer.getvalue()


def build_site(tmp_path: Path, *, settings: dict[str, Any] | None = None) -> Site:
    flow = shutil.copy(ROOT / "callflows.yaml", tmp_path / "callflows.yaml")
    config = Settings(
        data_dir=tmp_path / "data", flow_path=Path(flow), secret_key="test", **(settings or {})
    )
    app = create_app(config)
    app.config["TESTING"] = True
    services = app.extensions["civicline"]
    database = services.database
    loaded = services.flows.current()
    with database.session() as session:
        calls.save_flow_version(session, loaded.version, loaded.source, loaded.path, STARTED)
        for name, role in (("admin", "admin"), ("super", "supervisor"), ("roads", "officer")):
            user = add_user(session, name, PASSWORD, role)
            if role == "officer":
                link_departments(session, user, ["roads"])
        session.add(
            Officer(
                name="Ana Pop", phone=None, department="roads", callback_capacity=2, active=True
            )
        )
    roads_call = _call(database, loaded.version, "call-roads", STARTED, XSS)
    taxes_call = _call(
        database, loaded.version, "call-taxes", STARTED + timedelta(minutes=5), "taxes"
    )
    store = recording_store(config, database)
    recording = store.save_wav(roads_call, "description", wav(), STARTED)
    with database.session() as session:
        calls.start_call(
            session,
            call_id="call-live",
            caller="+40722333444",
            channel="terminal",
            flow_version=loaded.version,
            language="ro",
            at=datetime.now(UTC),
        )
        calls.set_current_node(session, "call-live", "main")
        zone = ZoneInfo("Europe/Bucharest")
        roads = create_ticket(
            session, pin=new_pin(), kind="report", draft=False, caller="+40722111222",
            language="en", department="roads", category="pothole", district=2,
            recording_id=recording.id, description=f"hole {XSS}", deadline_days=10,
            call_id=roads_call, at=STARTED, zone=zone,
        )  # fmt: skip
        taxes = create_ticket(
            session, pin=new_pin(), kind="message", draft=False, caller="+40722999888",
            language="ro", department="taxes", category=None, district=None, recording_id=None,
            description="tax question", deadline_days=None, call_id=taxes_call, at=STARTED,
            zone=zone,
        )  # fmt: skip
        callback = book_callback(
            session,
            caller="+40722111222",
            department="roads",
            slot_start=datetime.now(UTC) + timedelta(minutes=30),
            language="en",
            call_id=roads_call,
            ticket_id=roads.id,
            at=STARTED,
        )
        for call_id, ticket in ((roads_call, roads), (taxes_call, taxes)):
            calls.finish_call(
                session,
                call_id=call_id,
                at=STARTED + timedelta(minutes=2),
                outcome="ticket",
                department=ticket.department,
                ticket_id=ticket.id,
                zone=zone,
            )
        refs = roads.ref, taxes.ref
        callback_id = callback.id
    return Site(app, config, roads_call, taxes_call, "call-live", *refs, recording.id, callback_id)


def _call(database: Any, version: str, call_id: str, at: datetime, said: str) -> str:
    rows = [
        ("event", "CallStarted", {"call_id": call_id, "caller": "+40722111222"}),
        ("action", "Say", {"prompt": "main.prompt", "text": "Press 1", "mark": "m1"}),
        ("action", "Listen", {"node": "main", "keys": "1234"}),
        ("event", "DigitsPressed", {"digits": "7"}),
        ("action", "Say", {"prompt": "texts.no_match", "text": "Sorry?", "mark": "m2"}),
        ("action", "Listen", {"node": "main", "keys": "1234"}),
        ("event", "SpeechRecognized", {"text": said, "confidence": 0.42}),
        ("action", "Say", {"prompt": "report_category.prompt", "text": "What?", "mark": "m3"}),
        ("action", "Listen", {"node": "report_category", "keys": "12345"}),
        ("action", "QueueSms", {"to": "+40722111222", "text": f"SMS {XSS}"}),
    ]  # fmt: skip
    with database.session() as session:
        calls.start_call(
            session,
            call_id=call_id,
            caller="+40722111222",
            channel="terminal",
            flow_version=version,
            language="en",
            at=at,
        )
        for seq, (kind, type_name, payload) in enumerate(rows, start=1):
            stamp = at + timedelta(seconds=seq, milliseconds=250 if kind == "action" else 0)
            calls.append_event(
                session, call_id=call_id, seq=seq, kind=kind, type=type_name, payload=payload,
                at=at + timedelta(seconds=seq), stored_at=stamp,
            )  # fmt: skip
    return call_id


def sign_in(page: Any, url: str, username: str) -> None:
    """Open `url` in a Playwright page and sign in through the form it redirects to."""
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def login(client: Any, username: str) -> None:
    """Sign in through the form, with the CSRF token the page gave."""
    page = client.get("/login")
    token = _token(page.get_data(as_text=True))
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)


def token(client: Any, path: str) -> str:
    """The CSRF token of the page at `path`."""
    return _token(client.get(path).get_data(as_text=True))


def _token(html: str) -> str:
    marker = 'name="csrf_token" type="hidden" value="'
    if marker not in html:
        marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
