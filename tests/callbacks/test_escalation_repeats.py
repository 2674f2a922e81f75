"""Escalation is idempotent per intent: a double-clicked Escalate form (two posts at once,
each carrying the level its page showed) and three ESCALATE SMS at once move a ticket one
level; a citizen's second ESCALATE within the cooldown is answered, not obeyed; and the new
level's callback replaces those still booked at the lower levels. On SQLite and PostgreSQL,
through the Flask application with a real database, each request in its own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from callback_flows import demo_flow
from callback_site import csrf_token, logged_in, supervisor_client
from callback_twilio import AUTH_TOKEN, PUBLIC_URL, SignedTwilio
from flask import Flask
from hand_clock import Clock
from sqlalchemy import select
from storage.filing import file_ticket

from ivr.config import Settings
from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import Callback, SmsOutbox, Ticket, TicketEscalation

CITIZEN = "+40722111222"
BUCHAREST = ZoneInfo("Europe/Bucharest")
FILED = datetime(2026, 11, 24, 10, 0, tzinfo=BUCHAREST).astimezone(UTC)


@pytest.fixture
def demo_settings(tmp_path: Path, any_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=any_url,
        public_url=PUBLIC_URL,
        twilio_auth_token=AUTH_TOKEN,
        secret_key="test",
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(FILED + timedelta(hours=1))


def at_once(*requests: Callable[[], Any]) -> list[Any]:
    """Run each request in its own thread, released together."""
    start = threading.Barrier(len(requests))
    answers: list[Any] = []

    def run(request: Callable[[], Any]) -> None:
        start.wait()
        answers.append(request())

    threads = [threading.Thread(target=run, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def file_report(database: Database) -> str:
    ticket, _pin = file_ticket(database, FILED, caller=CITIZEN, language="en")
    return ticket.ref


def ladder(database: Database) -> tuple[int, list[str], list[tuple[str, str]]]:
    """The ticket's level, the roles it went through, and its callbacks (role, status)."""
    with database.session(read_only=True) as session:
        level = session.scalars(select(Ticket.escalation_level)).one()
        steps = session.scalars(select(TicketEscalation.role).order_by(TicketEscalation.id))
        rows = session.execute(select(Callback.role, Callback.status).order_by(Callback.id))
        return level, list(steps), [(role, status) for role, status in rows]


def test_a_double_clicked_escalate_form_moves_the_ticket_one_level(
    demo_app: Flask, demo_db: Database
) -> None:
    ref = file_report(demo_db)
    first = supervisor_client(demo_app, demo_db)
    second = logged_in(demo_app)
    token = csrf_token(first.get(f"/tickets/{ref}").get_data(as_text=True))
    assert 'name="level" value="0"' in first.get(f"/tickets/{ref}").get_data(as_text=True)
    form = {"csrf_token": token, "level": "0"}
    other = {"csrf_token": csrf_token(second.get(f"/tickets/{ref}").get_data(as_text=True))}
    answers = at_once(
        lambda: first.post(f"/tickets/{ref}/escalate", data=form),
        lambda: second.post(f"/tickets/{ref}/escalate", data={**other, "level": "0"}),
    )
    assert [a.status_code for a in answers] == [302, 302]
    assert ladder(demo_db) == (1, ["head_of_service"], [("head_of_service", "booked")])
    pages = [c.get(f"/tickets/{ref}").get_data(as_text=True) for c in (first, second)]
    told = sorted(p.split('class="flash">')[1].split("<")[0] for p in pages)
    assert told == [
        "Escalated to the head of service.",
        "The ticket was escalated already (by another request); nothing was changed.",
    ]


def test_three_escalate_sms_at_once_move_the_ticket_one_level(
    demo_db: Database, signed: SignedTwilio, clock: Clock
) -> None:
    ref = file_report(demo_db)
    answers = at_once(*[lambda: signed.sms(CITIZEN, f"ESCALATE {ref}") for _ in range(3)])
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert ladder(demo_db) == (1, ["head_of_service"], [("head_of_service", "booked")])
    with demo_db.session(read_only=True) as session:
        replies = session.scalars(select(SmsOutbox.body).where(SmsOutbox.to == CITIZEN)).all()
    escalated = [r for r in replies if "goes to the head of service" in r]
    assert len(escalated) == 3 and len(set(escalated)) == 1  # each told the same


def test_a_second_escalate_sms_within_a_day_is_answered_not_obeyed(
    demo_db: Database, signed: SignedTwilio, clock: Clock
) -> None:
    ref = file_report(demo_db)
    signed.sms(CITIZEN, f"ESCALATE {ref}")
    clock.now += timedelta(seconds=1)
    signed.sms(CITIZEN, f"escalate {ref}")
    assert ladder(demo_db)[0] == 1
    clock.now += timedelta(hours=25)
    signed.sms(CITIZEN, f"ESCALATE {ref}")
    level, roles, booked = ladder(demo_db)
    assert (level, roles) == (2, ["head_of_service", "vice_mayor"])
    assert booked == [("head_of_service", "cancelled"), ("vice_mayor", "booked")]


def test_reaching_a_new_level_cancels_the_callbacks_booked_below(
    demo_app: Flask, demo_db: Database
) -> None:
    ref = file_report(demo_db)
    with demo_db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        callbacks.book_first_free(
            session,
            demo_flow(),
            caller=CITIZEN,
            department="roads",
            language="en",
            call_id=None,
            ticket_id=ticket.id,
            at=FILED,
        )
    client = supervisor_client(demo_app, demo_db)
    token = csrf_token(client.get(f"/tickets/{ref}").get_data(as_text=True))
    for level in range(3):
        client.post(f"/tickets/{ref}/escalate", data={"csrf_token": token, "level": str(level)})
    level, _roles, booked = ladder(demo_db)
    assert level == 3
    assert booked == [
        ("officer", "cancelled"),
        ("head_of_service", "cancelled"),
        ("vice_mayor", "cancelled"),
        ("mayor", "booked"),
    ]
