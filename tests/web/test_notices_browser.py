"""In Chromium: a supervisor adds an announcement (a text per line language, its dates, where
it plays) and a closure on the site; both are listed, the announcement's audio is in the
prompt cache at once (rendered when saved, by the flow's pipeline), the dashboard shows how
many calls heard or skipped it, and the admin finds both in the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from site_data import sign_in
from test_site_browser import browser, served  # noqa: F401  # the site and Chromium fixtures

from ivr.app_context import PROMPTS
from ivr.engine.actions import Say
from ivr.storage import notices

WATER_EN = "The water is cut in district 3 until Friday."
WATER_RO = "Apa este oprită în districtul 3 până vineri."


def test_a_supervisor_adds_an_announcement_and_a_closure(served, browser):  # noqa: F811
    site, base = served
    today = datetime.now(ZoneInfo("Europe/Bucharest")).date()
    page = browser.new_page()
    sign_in(page, f"{base}/notices", "super")
    form = page.locator("#new-announcement")
    form.get_by_label("Română").fill(WATER_RO)
    form.get_by_label("English").fill(f"  {WATER_EN}\n")
    form.get_by_label("From").fill(today.isoformat())
    form.get_by_label("To (included)").fill((today + timedelta(days=3)).isoformat())
    form.get_by_label("Where").select_option("main")
    form.get_by_role("button").click()
    expect(page.locator(".flashes, body")).to_contain_text("Announcement added.")
    row = page.locator("#announcements tbody tr").first
    expect(row).to_contain_text(WATER_EN)
    expect(row).to_contain_text(WATER_RO)
    expect(row.locator(".heard")).to_have_text("0")

    closure = page.locator("#new-closure")
    closure.get_by_label("Day").fill((today + timedelta(days=2)).isoformat())
    closure.get_by_label("Department").select_option("taxes")
    closure.get_by_label("Reason").fill("Inventory")
    closure.get_by_role("button").click()
    expect(page.locator("#closures")).to_contain_text("Inventory")
    expect(page.locator("#closures")).to_contain_text("Local taxes")

    announcement_id = row.get_attribute("id").removeprefix("announcement-")
    library = site.app.extensions[PROMPTS]
    for language, text in (("en", WATER_EN), ("ro", WATER_RO)):
        say = Say(prompt=f"@announcement.{announcement_id}", language=language, text=text, mark="m")
        assert all(path.stat().st_size > 1000 for path in library.compose(say))

    with site.app.extensions["civicline"].database.session() as session:
        notices.count_announcements(session, (int(announcement_id),), skipped=False)
        notices.count_announcements(session, (int(announcement_id),), skipped=True)
        notices.count_announcements(session, (int(announcement_id),), skipped=True)
    page.goto(f"{base}/")
    counts = page.locator("#announcement-counts tr", has_text=WATER_EN)
    expect(counts.locator(".heard")).to_have_text("1")
    expect(counts.locator(".skipped")).to_have_text("2")

    admin = browser.new_page()
    sign_in(admin, f"{base}/audit", "admin")
    log = admin.locator("body")
    expect(log).to_contain_text("announcement.add")
    expect(log).to_contain_text("closure.add")
    expect(log).to_contain_text("Inventory")
