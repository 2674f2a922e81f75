"""Departments and categories synced from the flow, users, preferences, callbacks, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from ivr.storage.audit import audit
from ivr.storage.callbacks import UNSTAFFED_CAPACITY, book_callback, booked_slots, capacity
from ivr.storage.db import Database
from ivr.storage.directory import add_user, sync_departments, verify_user
from ivr.storage.models import AuditEntry, Category, Department, Officer
from ivr.storage.preferences import remember_language, remembered_language
from menus.schema import Flow

AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
FLOW_FILE = Path(__file__).resolve().parents[2] / "callflows.yaml"


def demo_flow() -> Flow:
    return Flow.model_validate(yaml.safe_load(FLOW_FILE.read_text()))


def test_sync_copies_the_flow_and_deactivates_what_it_dropped(any_database: Database) -> None:
    flow = demo_flow()
    with any_database.session() as session:
        sync_departments(session, flow, AT)
    smaller = flow.model_copy(
        update={
            "departments": {k: v for k, v in flow.departments.items() if k != "urbanism"},
            "categories": {k: v for k, v in flow.categories.items() if k != "noise"},
        }
    )
    later = AT + timedelta(days=1)
    with any_database.session() as session:
        sync_departments(session, smaller, later)
    with any_database.session(read_only=True) as session:
        departments = {d.code: d for d in session.scalars(select(Department))}
        categories = {c.code: c for c in session.scalars(select(Category))}
    assert set(departments) == set(flow.departments)
    assert [code for code, d in departments.items() if not d.active] == ["urbanism"]
    assert departments["roads"].name == {
        "ro": "Drumuri și infrastructură",
        "en": "Roads and infrastructure",
    }
    assert departments["roads"].transfer == "sip:drumuri@pbx.primaria-demo.ro"
    assert departments["roads"].synced_at == later
    assert [code for code, c in categories.items() if not c.active] == ["noise"]
    assert (categories["pothole"].department, categories["pothole"].deadline_days) == ("roads", 10)


def test_users_are_verified_by_password(any_database: Database) -> None:
    with any_database.session() as session:
        add_user(session, "ana", "correct horse", "supervisor", at=AT)
    with any_database.session(read_only=True) as session:
        user = verify_user(session, "ana", "correct horse")
        assert user is not None and user.role == "supervisor"
        assert "correct horse" not in user.password_hash
        assert verify_user(session, "ana", "wrong") is None
        assert verify_user(session, "nobody", "correct horse") is None


def test_a_username_is_taken_once_and_roles_are_checked(any_database: Database) -> None:
    with any_database.session() as session:
        add_user(session, "ana", "pw", "admin", at=AT)
    with pytest.raises(ValueError, match="already exists"), any_database.session() as session:
        add_user(session, "ana", "pw", "officer", at=AT)
    with pytest.raises(ValueError, match="unknown role"), any_database.session() as session:
        add_user(session, "bob", "pw", "mayor", at=AT)


def test_the_language_of_a_number_is_remembered(any_database: Database) -> None:
    with any_database.session() as session:
        assert remembered_language(session, "+40722111222") is None
        remember_language(session, "+40722111222", "en", AT)
    with any_database.session() as session:
        remember_language(session, "+40722111222", "ro", AT + timedelta(days=1))
    with any_database.session(read_only=True) as session:
        assert remembered_language(session, "+40722111222") == "ro"


def test_booked_slots_count_bookings_per_slot(any_database: Database) -> None:
    slot = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    next_slot = slot + timedelta(minutes=30)
    with any_database.session() as session:
        for start, department in [
            (slot, "roads"),
            (slot, "roads"),
            (next_slot, "roads"),
            (slot, "taxes"),
            (slot + timedelta(hours=1), "roads"),
        ]:
            book_callback(
                session,
                caller="+40722111222",
                department=department,
                slot_start=start,
                language="ro",
                call_id=None,
                ticket_id=None,
                at=AT,
            )
    with any_database.session(read_only=True) as session:
        booked = booked_slots(session, "roads", slot, slot + timedelta(hours=1))
    assert booked == {slot: 2, next_slot: 1}
    assert all(start.tzinfo == UTC for start in booked)


def test_audit_entries_are_stored(any_database: Database) -> None:
    with any_database.session() as session:
        audit(
            session,
            actor="ana",
            action="ticket.status",
            target="26-000001",
            details={"status": "closed"},
            at=AT,
        )
    with any_database.session(read_only=True) as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.details, entry.at) == (
        "ana",
        "ticket.status",
        {"status": "closed"},
        AT,
    )


def test_capacity_adds_up_the_active_officers_of_a_department(any_database: Database) -> None:
    with any_database.session() as session:
        assert capacity(session, "roads") == UNSTAFFED_CAPACITY
        session.add_all(
            [
                Officer(name="Ana", department="roads", callback_capacity=2, active=True),
                Officer(name="Dan", department="roads", callback_capacity=3, active=True),
                Officer(name="Ion", department="roads", callback_capacity=4, active=False),
                Officer(name="Eva", department="taxes", callback_capacity=5, active=True),
            ]
        )
    with any_database.session(read_only=True) as session:
        assert capacity(session, "roads") == 5
        assert capacity(session, "taxes") == 5
