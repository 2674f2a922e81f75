"""Filing a ticket in tests: a pothole report from a Romanian mobile, changeable per test."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ivr.calls.effects import Effects
from ivr.storage import calls
from ivr.storage.db import Database
from ivr.storage.models import Ticket
from ivr.storage.tickets import create_ticket, new_pin
from menus.loader import load_flow_text

BUCHAREST = ZoneInfo("Europe/Bucharest")
AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
"""12:00 in Bucharest."""


def file_ticket(database: Database, at: datetime = AT, **changes: object) -> tuple[Ticket, str]:
    fields: dict[str, object] = {
        "kind": "report",
        "draft": False,
        "caller": "+40722111222",
        "language": "ro",
        "department": "roads",
        "category": "pothole",
        "district": 2,
        "recording_id": None,
        "description": None,
        "deadline_days": 10,
        "call_id": None,
    }
    fields.update(changes)
    pin = new_pin()
    with database.session() as session:
        ticket = create_ticket(session, pin=pin, at=at, zone=BUCHAREST, **fields)  # type: ignore[arg-type]
        return ticket, pin.clear


def call_on(
    database: Database, text: str, at: datetime, *, caller: str | None, language: str
) -> Effects:
    """A call "c1" stored on the flow version `text`: the storage effects of its actions."""
    loaded = load_flow_text(text, "stored.yaml")
    with database.session() as session:
        calls.save_flow_version(session, loaded.version, text, "stored.yaml", at)
        calls.start_call(
            session, call_id="c1", caller=caller, channel="test",
            flow_version=loaded.version, language=language, at=at,
        )  # fmt: skip
    return Effects(database, loaded.flow, "c1")
