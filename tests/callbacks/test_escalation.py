"""The escalation ladder in use: a ticket still open at its deadline goes one level up with a
new callback and an SMS, once; racing escalations on PostgreSQL climb one level, never two;
the chain shows on the ticket page; a resolution recorded on the callbacks page is noted on
the ticket and texted to the citizen."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from callback_flows import DEMO_FLOW_PATH, demo_flow
from callback_site import csrf_token, supervisor_client
from flask import Flask
from sqlalchemy import select
from storage.filing import file_ticket

from ivr.callbacks.jobs import CallbackJobs, LoggingOutboundCaller
from ivr.storage import callbacks, escalations
from ivr.storage.db import Database
from ivr.storage.models import Callback, Job, SmsOutbox, Ticket, TicketEscalation, TicketNote
from menus.registry import FlowRegistry

CITIZEN = "+40722111222"
BUCHAREST = ZoneInfo("Europe/Bucharest")
FILED = datetime(2026, 11, 24, 10, 0, tzinfo=BUCHAREST).astimezone(UTC)


def file_report(database: Database) -> int:
    ticket, _pin = file_ticket(database, FILED, caller=CITIZEN, language="en")
    with database.session() as session:
        escalations.schedule_deadline(session, demo_flow(), ticket, FILED)
    return ticket.id


def deadline_jobs(database: Database) -> list[tuple[dict[str, int], datetime]]:
    with database.session(read_only=True) as session:
        rows = session.execute(
            select(Job.payload, Job.run_after).where(Job.kind == "ticket.deadline")
        ).all()
    return [(payload, run_after) for payload, run_after in rows]


def test_a_ticket_open_at_its_deadline_climbs_one_level_once(database: Database) -> None:
    ticket_id = file_report(database)
    [(payload, due)] = deadline_jobs(database)
    assert due.astimezone(BUCHAREST) == datetime(2026, 12, 5, 0, 0, tzinfo=BUCHAREST)
    jobs = CallbackJobs(
        database, FlowRegistry(DEMO_FLOW_PATH), LoggingOutboundCaller(), lambda: due
    )
    jobs.deadline(payload)
    jobs.deadline(payload)  # run twice: still one level
    with database.session(read_only=True) as session:
        ticket = session.get_one(Ticket, ticket_id)
        step = session.scalars(select(TicketEscalation)).one()
        callback = session.get_one(Callback, step.callback_id)
        sms = session.scalars(select(SmsOutbox)).one()
        assert ticket.escalation_level == 1
        assert (step.from_level, step.to_level, step.reason) == (0, 1, "deadline")
        assert callback.role == "head_of_service" and callback.slot_start > due
        assert "the head of service" in sms.body and ticket.ref in sms.body
    later = [p for p, _ in deadline_jobs(database) if p["level"] == 1]
    assert later == [{"ticket_id": ticket_id, "level": 1}]


def test_a_resolved_ticket_does_not_climb(database: Database) -> None:
    ticket_id = file_report(database)
    with database.session() as session:
        session.get_one(Ticket, ticket_id).status = "resolved"
    [(payload, due)] = deadline_jobs(database)
    CallbackJobs(
        database, FlowRegistry(DEMO_FLOW_PATH), LoggingOutboundCaller(), lambda: due
    ).deadline(payload)
    with database.session(read_only=True) as session:
        assert session.get_one(Ticket, ticket_id).escalation_level == 0


def test_racing_escalations_on_postgresql_climb_one_level(pg_url: str) -> None:
    database = Database(pg_url)
    database.upgrade()
    try:
        ticket_id = file_report(database)
        start = threading.Barrier(3)
        steps: list[object] = []

        def climb(reason: str) -> None:
            with database.session() as session:
                ticket = session.get_one(Ticket, ticket_id)
                assert ticket.escalation_level == 0
                start.wait()
                steps.append(
                    escalations.escalate(session, demo_flow(), ticket, reason=reason, at=FILED)
                )

        threads = [
            threading.Thread(target=climb, args=(r,)) for r in ("citizen", "deadline", "supervisor")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(step is not None for step in steps) == 1
        with database.session(read_only=True) as session:
            assert session.get_one(Ticket, ticket_id).escalation_level == 1
            assert len(session.scalars(select(TicketEscalation)).all()) == 1
            assert len(session.scalars(select(Callback)).all()) == 1
    finally:
        database.dispose()


def test_the_ticket_page_shows_the_chain_and_escalates_one_level(
    demo_app: Flask, demo_db: Database
) -> None:
    ticket_id = file_report(demo_db)
    client = supervisor_client(demo_app, demo_db)
    with demo_db.session(read_only=True) as session:
        ref = session.get_one(Ticket, ticket_id).ref
    page = client.get(f"/tickets/{ref}")  # type: ignore[attr-defined]
    assert "Not escalated." in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    for level in range(4):  # officer → head of service → vice-mayor → mayor, then the top
        form = {"csrf_token": token, "level": str(level)}
        client.post(f"/tickets/{ref}/escalate", data=form)  # type: ignore[attr-defined]
    html = client.get(f"/tickets/{ref}").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "level 0 → 1: the head of service" in html  # the rung by its name in the flow
    assert "level 1 → 2: the deputy mayor" in html
    assert "level 2 → 3: the mayor" in html and "level 3 → 4" not in html
    with demo_db.session(read_only=True) as session:
        roles = session.scalars(
            select(TicketEscalation.role).order_by(TicketEscalation.to_level)
        ).all()
        assert roles == ["head_of_service", "vice_mayor", "mayor"]


def test_a_resolution_recorded_on_the_site_is_noted_and_texted(
    demo_app: Flask, demo_db: Database
) -> None:
    ticket_id = file_report(demo_db)
    with demo_db.session() as session:
        callback = callbacks.book_first_free(
            session,
            demo_flow(),
            caller=CITIZEN,
            department="roads",
            language="en",
            call_id=None,
            ticket_id=ticket_id,
            at=FILED,
        )
        assert callback is not None
        callback_id, day = callback.id, callback.slot_start.astimezone(BUCHAREST).date()
    client = supervisor_client(demo_app, demo_db)
    page = client.get(f"/callbacks?day={day.isoformat()}").get_data(as_text=True)  # type: ignore[attr-defined]
    token = csrf_token(page)
    long_story = "The hole was filled with asphalt on Monday morning. " * 10
    form = {"csrf_token": token, "outcome": "answered", "resolution": long_story}
    reply = client.post(f"/callbacks/{callback_id}/outcome", data=form)  # type: ignore[attr-defined]
    assert reply.status_code == 302
    with demo_db.session(read_only=True) as session:
        note = session.scalars(select(TicketNote)).one()
        sms = session.scalars(select(SmsOutbox)).one()
    assert "The hole was filled" in note.body
    assert sms.to == CITIZEN and sms.template == "callback_sms.resolution"
    assert sms.body.endswith("...") and sms.segments <= 2  # "…" sent as GSM-7 "..."
