"""In Chromium, what a supervisor sees without a manual: the ticket form starts at the
ticket's status and department and asks before it changes anything; replies show the text
the citizen will get; names, not codes; the SMS conversation on the ticket and the call;
overdue callbacks from earlier days first, labelled, no outcome preselected; the call log
pages both ways and finds calls by registration number, number as typed and words said;
charts with whole numbers and a table under each."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from site_data import STARTED, sign_in
from test_site_browser import browser, served  # noqa: F401  # the site and Chromium fixtures

from ivr.storage import calls
from ivr.storage.models import Callback, SmsInbound, Ticket


def _database(site):
    return site.app.extensions["civicline"].database


def test_the_ticket_form_starts_where_the_ticket_is_and_asks_first(served, browser):  # noqa: F811
    site, base = served
    page = browser.new_page()
    sign_in(page, f"{base}/tickets/{site.roads_ref}", "super")
    expect(page.locator("#status")).to_have_text("registered")
    expect(page.get_by_label("Status", exact=True)).to_have_value("registered")
    expect(page.get_by_label("Department", exact=True)).to_have_value("roads")
    expect(page.locator("#department")).to_have_text("Roads and infrastructure")
    expect(
        page.get_by_label(
            f"Demo City Hall: the work for report {site.roads_ref} is scheduled. Thank you!"
        )
    ).not_to_be_checked()

    page.get_by_label("Status", exact=True).select_option("resolved")
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("#status-form button[type=submit]")
    assert questions == [
        f"Change the status of {site.roads_ref} to “resolved”? The caller is told by SMS."
    ]
    page.reload()
    expect(page.locator("#status")).to_have_text("registered")

    page.get_by_label("Status", exact=True).select_option("in_progress")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#status-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("in progress")
    expect(page.get_by_label("Status", exact=True)).to_have_value("in_progress")
    expect(page.locator("#conversation")).to_contain_text(
        f"Demo City Hall: report {site.roads_ref} is now in progress."
    )
    expect(page.locator("#conversation")).to_contain_text("queued")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Escalate to the head of service").click()
    expect(page.locator("#rung")).to_contain_text("the head of service")
    expect(page.locator(".flash")).to_have_text("Escalated to the head of service.")


def test_names_conversation_and_recording_on_ticket_and_call(served, browser):  # noqa: F811
    site, base = served
    with _database(site).session() as session:
        session.add(
            SmsInbound(
                message_sid="SM1", sender="+40722111222", body=f"STATUS {site.roads_ref}",
                command="status", received_at=STARTED + timedelta(minutes=3),
            )
        )  # fmt: skip
    page = browser.new_page()
    sign_in(page, f"{base}/tickets/{site.roads_ref}", "super")
    expect(page.locator("body")).to_contain_text("Report: pothole, district 2")
    citizen = page.locator("#conversation tr.in")
    expect(citizen).to_contain_text("Citizen")
    expect(citizen).to_contain_text(f"STATUS {site.roads_ref}")
    audio = page.locator("#description-recording audio")
    audio.evaluate("element => element.play()")
    page.wait_for_function(
        "(audio) => audio.readyState >= 2 && audio.duration > 0.4", arg=audio.element_handle()
    )

    page.click("text=the call")
    expect(page.locator("#route")).to_have_text("Main → Report category")
    expect(page.locator("#outcome")).to_have_text("Report filed (Roads and infrastructure)")
    expect(page.locator("#turns")).to_contain_text("Not understood")
    expect(page.locator("#conversation")).to_contain_text(f"STATUS {site.roads_ref}")
    body = page.locator("#turns").inner_text() + page.locator("table").first.inner_text()
    assert "report_category" not in body and "roads" not in body


def test_callbacks_left_from_earlier_days_come_first_labelled(served, browser):  # noqa: F811
    site, base = served
    earlier = datetime.now(UTC) - timedelta(days=2)
    with _database(site).session() as session:
        session.add(
            Callback(caller="+40722000009", department="roads", slot_start=earlier,
                     status="booked", language="ro", created_at=earlier)
        )  # fmt: skip
    page = browser.new_page()
    sign_in(page, f"{base}/callbacks", "super")
    expect(page.locator("h2").first).to_have_text("Overdue from earlier days (1)")
    row = page.locator("#callbacks-earlier tbody tr").last
    expect(row).to_contain_text("Roads and infrastructure")
    outcome = page.get_by_label("Outcome").first
    expect(outcome).to_have_value("")
    expect(page.get_by_label("Resolution").first).to_be_visible()
    expect(page.get_by_label("Officer").first).to_be_visible()


def test_the_call_log_pages_both_ways_and_searches(served, browser):  # noqa: F811
    site, base = served
    database = _database(site)
    version = site.app.extensions["civicline"].flows.current().version
    with database.session() as session:
        for n in range(60):
            calls.start_call(
                session, call_id=f"page-{n:03d}", caller="+40733000000", channel="sip",
                flow_version=version, language="ro", at=STARTED - timedelta(days=1, minutes=n),
            )  # fmt: skip
        taxes = session.query(Ticket).filter_by(ref=site.taxes_ref).one()
        typed_ref = taxes.ref.replace("-", " ")
    page = browser.new_page()
    sign_in(page, f"{base}/calls", "super")
    expect(page.locator("#calls tbody tr")).to_have_count(50)
    expect(page.get_by_role("link", name="← Newer calls")).to_have_count(0)
    page.get_by_role("link", name="Older calls →").first.click()
    expect(page.locator("#calls")).not_to_contain_text("Report filed")
    page.get_by_role("link", name="← Newer calls").first.click()
    expect(page.locator("#calls")).to_contain_text("Report filed")
    expect(page.get_by_role("link", name="← Newer calls")).to_have_count(0)

    page.goto(f"{base}/calls")
    page.get_by_label("Registration number").fill(typed_ref)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#calls")).to_contain_text(site.taxes_ref)
    expect(page.locator("#calls")).not_to_contain_text(site.roads_ref)

    page.goto(f"{base}/calls")
    page.get_by_label("Caller's number").fill("0722 111 222")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#calls")).to_contain_text(site.taxes_ref)
    expect(page.locator("#calls")).to_contain_text(site.roads_ref)
    expect(page.locator("#calls")).not_to_contain_text("+40 733")

    page.goto(f"{base}/calls")
    page.get_by_label("Words said").fill("TAXES")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#calls")).to_contain_text(site.taxes_ref)
    expect(page.locator("#calls")).not_to_contain_text(site.roads_ref)


def test_charts_have_whole_numbers_and_a_table_under_each(served, browser):  # noqa: F811
    _, base = served
    page = browser.new_page()
    sign_in(page, f"{base}/?days=7", "super")
    for title in ("Calls per day", "Calls by hour of day", "Tickets opened and closed"):
        expect(page.get_by_role("img", name=re.compile(f"^{title}"))).to_be_visible()
        expect(page.get_by_role("table", name=title)).to_be_visible()
    counts = "figure:not([aria-labelledby=confusing-title])"  # the one chart of percentages
    ticks = page.locator(f"{counts} svg text.tick").all_text_contents()
    assert ticks and all(re.fullmatch(r"[\d,]+", tick) for tick in ticks)
    opened = page.get_by_role("table", name="Tickets opened and closed")
    expect(opened.get_by_role("columnheader", name="Opened")).to_be_visible()
    cells = opened.locator("td").all_inner_texts()
    assert sum(int(cell) for cell in cells[0::2]) == 2
