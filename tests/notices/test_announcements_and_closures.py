"""Announcements and closures added on the site, heard and obeyed by `ivr call` (a subprocess
on the same data directory): an announcement before the main menu during its dates and not
after, skipped with a key and counted; an after-hours one only before the after-hours menu;
a closure closes a department at once and moves its callback slots. Dates are relative to
today, so the tests keep working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.bootstrap import open_database
from ivr.calls.turns import turns
from ivr.config import Settings
from ivr.storage import appointments, callbacks, calls, notices
from ivr.storage.models import Announcement
from menus.loader import load_flow
from routing.hours import is_open

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))
FLOW = load_flow(ROOT / "callflows.yaml").flow
ZONE = ZoneInfo(FLOW.city.timezone)
WATER = "The water is cut in district 3 until Friday."
NIGHT = "For a burst pipe at night call the water company."
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _open_day(after: date) -> date:
    """The first day after `after` when the operator's office is open at 10:00 (no weekend,
    holiday or closure in the flow)."""
    day = after + timedelta(days=1)
    while not is_open(FLOW, "public_relations", _at(day, 10)):
        day += timedelta(days=1)
    return day


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE)


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """A data directory with two announcements from today for a week, and the day open."""
    data_dir = tmp_path_factory.mktemp("notices")
    database = open_database(Settings(data_dir=data_dir))
    today = datetime.now(ZONE).date()
    with database.session() as session:
        for text, placement in ((WATER, "main"), (NIGHT, "after_hours")):
            notices.add_announcement(
                session,
                texts={"en": text, "ro": f"(ro) {text}"},
                starts=today,
                ends=today + timedelta(days=7),
                placement=placement,
                actor="super",
                at=AT,
            )
    yield data_dir, database, today
    database.dispose()


def _call(data_dir: Path, at: datetime, *keys: str) -> list[dict]:
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data_dir), "CIVICLINE_LOG_LEVEL": "WARNING"}
    local = at.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")
    args = [IVR, "call", "--from", "+40722111222", "--lang", "en", "--at", local, "--json"]
    args += [arg for key in keys for arg in ("--input", key)]
    done = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=ROOT, check=True, timeout=120
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def _said(rows: list[dict]) -> list[str]:
    return [r["text"] for r in rows if r.get("action") == "Say"]


def _counts(database) -> dict[str, tuple[int, int]]:
    with database.session() as session:
        rows = session.query(Announcement).all()
        return {row.placement: (row.heard, row.skipped) for row in rows}


def test_an_announcement_is_heard_before_the_main_menu_during_its_dates_and_a_key_skips_it(
    line,
):
    data_dir, database, today = line
    day = _open_day(today)
    heard = _said(_call(data_dir, _at(day, 10), "", "", "5"))  # the notice, then all of it
    main = next(i for i, text in enumerate(heard) if text.startswith("To report a problem"))
    assert WATER in heard[:main] and NIGHT not in heard
    skipped = _call(data_dir, _at(day, 10), "", "2")  # a key during the announcement
    said = _said(skipped)
    assert said.count(WATER) == 1 and said[-1].startswith("To report a problem")
    assert not any(r.get("action") == "LookupTicket" for r in skipped)  # "2" chose nothing
    after = _said(_call(data_dir, _at(today + timedelta(days=8), 10), "", ""))
    assert WATER not in after and any(t.startswith("To report a problem") for t in after)
    assert _counts(database)["main"] == (1, 1)


def test_an_after_hours_announcement_is_heard_only_before_the_after_hours_menu(line):
    data_dir, database, today = line
    day = _open_day(today)
    in_hours = _call(data_dir, _at(day, 10), "", "0", "0")  # skip, then the operator
    assert any(r.get("action") == "Transfer" for r in in_hours)
    assert NIGHT not in _said(in_hours)
    rows = _call(data_dir, _at(day, 20), "", "0", "0", "")
    evening = _said(rows)
    menu = next(i for i, text in enumerate(evening) if "office is closed now" in text)
    assert evening[menu - 1] == NIGHT
    with database.session() as session:  # the call log: "0" at the main menu led after hours
        stored = calls.call_events(session, rows[-1]["call_id"])
        choices = [(t.node, t.target) for t in turns(stored) if t.result == "choice"]
    assert ("main", "after_hours") in choices


def test_a_closure_closes_the_department_at_once_and_moves_its_callback_and_visit_slots(line):
    data_dir, database, today = line
    day = _open_day(_open_day(today))
    with database.session() as session:
        before = callbacks.free_slots(session, FLOW, "roads", _at(day, 8), count=1)
        visit = appointments.free_slots(session, FLOW, "civil_status", _at(day, 8))
    assert before[0].astimezone(ZONE).date() == day
    assert visit[0].astimezone(ZONE).date() == day
    with database.session() as session:
        for department in ("public_relations", "roads"):
            notices.add_closure(
                session, day=day, department=department, reason="staff day", actor="super", at=AT
            )
    closed = _call(data_dir, _at(day, 10), "", "0", "0", "")
    assert not any(r.get("action") == "Transfer" for r in closed)
    assert NIGHT in _said(closed) and "office is closed now" in _said(closed)[-1]
    with database.session() as session:
        after = callbacks.free_slots(session, FLOW, "roads", _at(day, 8), count=1)
        others = callbacks.free_slots(session, FLOW, "taxes", _at(day, 8), count=1)
        visit = appointments.free_slots(session, FLOW, "civil_status", _at(day, 8))
    assert after[0].astimezone(ZONE).date() > day
    assert visit[0].astimezone(ZONE).date() > day  # the counter's office is closed too
    assert others[0].astimezone(ZONE).date() == day
