"""Who sees callers' numbers: admins in full on every page and CSV export that shows one,
supervisors and officers masked, unless CIVICLINE_OFFICERS_SEE_NUMBERS lets them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from site_data import Site, build_site, login
from sqlalchemy import select, update

from ivr.storage.models import Call, Callback, Ticket
from ivr.storage.outbox import queue_sms

FULL, MASKED = "+40722111222", "+40 722 *** 222"
LIVE_FULL, LIVE_MASKED = "+40722333444", "+40 722 *** 444"


def _seeded(tmp_path: Path, **settings: object) -> tuple[Site, dict[str, str]]:
    """The site with an SMS on the roads ticket and the live call in roads (so an officer of
    roads sees it); the pages that show a number of +40722111222 or the live call's."""
    site = build_site(tmp_path, settings=dict(settings))
    database = site.app.extensions["civicline"].database
    with database.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ref == site.roads_ref)).one()
        queue_sms(session, to=FULL, body="Your report is registered.", template="t",
                  language="en", ticket_id=ticket.id, at=datetime.now(UTC))  # fmt: skip
        session.execute(update(Call).where(Call.id == site.live_call).values(department="roads"))
        slot = session.get(Callback, site.callback_id).slot_start
    day = slot.astimezone(ZoneInfo("Europe/Bucharest")).date()
    pages = {
        "calls": "/calls",
        "call": f"/calls/{site.roads_call}",
        "ticket": f"/tickets/{site.roads_ref}",
        "callbacks": f"/callbacks?day={day.isoformat()}",
        "calls.csv": "/calls.csv",
        "tickets.csv": "/tickets.csv",
    }
    return site, pages


def _client(site: Site, user: str):
    client = site.app.test_client()
    login(client, user)
    return client


def _text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    text = response.get_data(as_text=True)
    response.close()
    return text


@pytest.mark.parametrize(
    ("user", "setting", "full"),
    [
        ("admin", False, True),
        ("super", False, False),
        ("roads", False, False),
        ("super", True, True),
        ("roads", True, True),
    ],
)
def test_numbers_in_full_or_masked_by_role(tmp_path: Path, user: str, setting: bool, full: bool):
    site, pages = _seeded(tmp_path, officers_see_numbers=setting)
    client = _client(site, user)
    for name, path in pages.items():
        text = _text(client, path)
        if full:
            assert FULL in text, name
        else:
            assert MASKED in text, name
            assert "722111222" not in text, name
    for path in ("/live", "/live/stream?once=1"):
        text = _text(client, path)
        assert (LIVE_FULL if full else LIVE_MASKED) in text, path
        assert full or "722333444" not in text, path


def test_every_number_on_the_call_page_is_masked(tmp_path: Path):
    """The caller, the CallStarted payload and the SMS in the timeline."""
    site, pages = _seeded(tmp_path)
    text = _text(_client(site, "super"), pages["call"])
    assert text.count(MASKED) == 3
    assert f"caller={MASKED}" in text and f"SMS to {MASKED}:" in text


def test_a_masked_user_may_still_filter_the_call_log_by_a_full_number(tmp_path: Path):
    site, _ = _seeded(tmp_path)
    client = _client(site, "roads")
    rows = _text(client, "/calls?caller=0722111222").split('<table id="calls">')[1]
    assert site.roads_call in rows and MASKED in rows and "722111222" not in rows
    assert site.roads_call not in _text(client, "/calls?caller=0722999888")
    csv = _text(client, "/calls.csv?caller=%2B40722111222")
    assert site.roads_call in csv and MASKED in csv and FULL not in csv


def test_a_withheld_number_reads_withheld(tmp_path: Path):
    site, pages = _seeded(tmp_path)
    database = site.app.extensions["civicline"].database
    with database.session() as session:
        session.execute(update(Call).where(Call.id == site.roads_call).values(caller=None))
    assert "withheld" in _text(_client(site, "super"), pages["call"])
