"""In Chromium: opening a call audits no recording until it is played; an admin opens Privacy
from the nav, looks a number up, is refused while its tickets are open, then erases it with
the number typed again and the force box ticked."""

from __future__ import annotations

from playwright.sync_api import expect
from site_data import sign_in
from sqlalchemy import select
from test_site_browser import browser, served  # noqa: F401  # the site and Chromium fixtures

from ivr.storage.models import AuditEntry


def test_an_admin_erases_a_number_from_the_privacy_page(served, browser):  # noqa: F811
    site, base = served
    page = browser.new_page()
    sign_in(page, f"{base}/calls", "admin")

    page.goto(f"{base}/calls/{site.roads_call}")
    expect(page.locator("audio")).to_have_count(1)
    assert plays(site) == [], "a call page opened is no recording played"
    audio = page.locator("audio")
    audio.evaluate("element => element.play()")
    page.wait_for_function(
        "(audio) => audio.readyState >= 2 && audio.duration > 0.4", arg=audio.element_handle()
    )
    assert plays(site) and set(plays(site)) == {("admin", site.recording_id)}

    page.click("nav >> text=Privacy")

    page.fill("#lookup input[name=number]", "0722 111 222")
    page.click("#lookup button[type=submit]")
    expect(page.locator("h2")).to_have_text("+40722111222")
    expect(page.locator("#holdings")).to_contain_text("recordings")
    expect(page.locator("#open-tickets")).to_contain_text(site.roads_ref)

    page.fill("#erase input[name=confirm]", "+40722111222")
    page.click("#erase button[type=submit]")
    expect(page.locator("#error")).to_contain_text(f"open tickets {site.roads_ref}")

    page.fill("#erase input[name=confirm]", "0040722111222")
    page.check("#erase input[name=force]")
    page.click("#erase button[type=submit]")
    expect(page.locator("h1")).to_have_text("Erased: +40 722 *** 222")
    expect(page.locator("#kept-open")).to_contain_text(site.roads_ref)
    page.goto(f"{base}/calls")
    expect(page.locator("#calls")).not_to_contain_text("722111222")
    expect(page.locator("#calls")).to_contain_text("withheld")


def plays(site):
    with site.app.extensions["civicline"].database.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == "recording.play")
        return [(entry.actor, entry.target) for entry in session.scalars(query)]
