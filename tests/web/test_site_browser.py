"""End to end in Debian's Chromium (Playwright, `executable_path`): sign in, filter the call
log, open a call and play its recording, change a ticket's status and see the SMS in the
outbox; mark the day's appointments at a counter. The site runs on a werkzeug server thread
on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from site_data import Site, build_site, sign_in
from werkzeug.serving import make_server

from ivr.storage import appointments

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    site = build_site(tmp_path)
    site.app.config["TESTING"] = False
    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def test_a_supervisor_reviews_a_call_and_closes_its_ticket(served, browser):
    site, base = served
    page = browser.new_page()
    sign_in(page, f"{base}/calls", "super")
    expect(page.locator("#calls")).to_contain_text("Local taxes")

    page.select_option("select[name=department]", "roads")
    page.click("#call-filters button[type=submit]")
    rows = page.locator("#calls tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#calls")).not_to_contain_text("Local taxes")
    rows.nth(1).locator("a").first.click()

    expect(page.locator("h1")).to_have_text(f"Call {site.roads_call}")
    audio = page.locator("audio")
    audio.evaluate("element => element.play()")
    page.wait_for_function(
        "(audio) => audio.readyState >= 2 && audio.duration > 0.4", arg=audio.element_handle()
    )

    page.click(f"text={site.roads_ref}")
    page.select_option("#new-status", "resolved")
    page.once("dialog", lambda dialog: dialog.accept())  # "Change the status …?"
    page.click("#status-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("resolved")
    conversation = page.locator("#conversation")
    expect(conversation).to_contain_text(f"report {site.roads_ref} is now resolved")
    expect(conversation).to_contain_text("queued")


def test_a_clerk_marks_the_days_visits_arrived_and_no_show(served, browser):
    site, base = served
    services = site.app.extensions["civicline"]
    flow = services.flows.current().flow
    with services.database.session() as session:
        booked = [
            appointments.book_first_free(
                session, flow, caller=caller, service="local_taxes", language="ro",
                call_id=None, at=datetime.now(UTC),
            )
            for caller in ("+40722000111", "+40722000222")
        ]  # fmt: skip
        first, second = (b.appointment for b in booked if b is not None)
        assert first.slot_start == second.slot_start  # three people a slot at local taxes
        day = first.slot_start.astimezone(ZoneInfo("Europe/Bucharest")).date().isoformat()
        codes = first.code, second.code
    page = browser.new_page()
    sign_in(page, f"{base}/appointments?day={day}", "super")
    expect(page.locator("h2").first).to_have_text("ghișeul 1")
    table = page.locator("table.appointments")
    expect(table).to_contain_text(codes[0])
    expect(table).not_to_contain_text("+40722000111")  # masked
    page.locator(f"tr:has-text('{codes[0]}') >> text=Arrived").click()
    expect(page.locator("#arrived")).to_have_text("1")
    page.locator(f"tr:has-text('{codes[1]}') >> text=No-show").click()
    expect(page.locator("#no-shows")).to_have_text("1")
    expect(page.locator("#expected")).to_have_text("0")
    expect(page.locator(f"tr:has-text('{codes[1]}') button")).to_have_count(0)
