"""In Chromium: a cookie copied before logout is refused after it (for pages and for posts);
repeated wrong passwords lock the account with a clear message until an admin unlocks it;
the CSP blocks an injected inline script while the site's own scripts run (the live page
follows its stream); playing a recording leaves one audit row."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect
from site_data import PASSWORD, sign_in, wav
from sqlalchemy import func, select
from test_site_browser import browser, served  # noqa: F401  # the site and Chromium fixtures

from ivr.recordings import Recordings
from ivr.storage import calls
from ivr.storage.models import AuditEntry, Call, TicketNote


def database(site):
    return site.app.extensions["civicline"].database


def count(site, statement) -> int:
    with database(site).session(read_only=True) as session:
        return session.scalar(statement)


def test_a_cookie_copied_before_logout_is_refused_after_it(served, browser):  # noqa: F811
    site, base = served
    ticket = f"{base}/tickets/{site.roads_ref}"
    owner = browser.new_context()
    page = owner.new_page()
    sign_in(page, ticket, "super")
    expect(page.locator("h1")).to_contain_text(site.roads_ref)
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    copied = owner.cookies()

    thief = browser.new_context()
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(ticket)
    expect(stolen.locator("h1")).to_contain_text(site.roads_ref)  # works while signed in

    page.click("nav button:has-text('Sign out')")
    expect(page.locator("h1")).to_have_text("Sign in")

    stolen.goto(ticket)
    expect(stolen.locator("h1")).to_have_text("Sign in")
    assert "/login" in stolen.url
    posted = thief.request.post(
        f"{ticket}/notes",
        form={"body": "written with a stolen cookie", "csrf_token": csrf},
        max_redirects=0,
    )
    assert posted.status == 302 and "/login" in posted.headers["location"]
    notes = select(func.count()).select_from(TicketNote).where(TicketNote.body.contains("stolen"))
    assert count(site, notes) == 0
    owner.close()
    thief.close()


def test_repeated_wrong_passwords_lock_the_account_until_an_admin_unlocks(served, browser):  # noqa: F811
    site, base = served
    guesser = browser.new_page()
    guesser.goto(f"{base}/login")
    for _ in range(5):
        guesser.fill("input[name=username]", "super")
        guesser.fill("input[name=password]", "a wrong guess")
        guesser.click("button[type=submit]")
        expect(guesser.locator("[role=alert]")).to_have_text("Wrong username or password.")
    guesser.fill("input[name=username]", "super")
    guesser.fill("input[name=password]", PASSWORD)
    guesser.click("button[type=submit]")
    expect(guesser.locator("[role=alert]")).to_contain_text("Too many failed sign-ins")
    expect(guesser.locator("h1")).to_have_text("Sign in")
    throttled = select(func.count()).where(AuditEntry.action == "login.throttled")
    assert count(site, throttled.select_from(AuditEntry)) == 1

    admin = browser.new_page()
    sign_in(admin, f"{base}/users", "admin")
    row = admin.locator("tr[data-user=super]")
    expect(row).to_contain_text("locked until")
    row.locator("button:has-text('Unlock')").click()
    expect(admin.locator(".flash")).to_have_text("super unlocked.")

    sign_in(guesser, f"{base}/calls", "super")
    expect(guesser.locator("nav").first).to_contain_text("super (supervisor)")


def test_the_csp_blocks_an_injected_inline_script_and_runs_the_sites_own(served, browser):  # noqa: F811
    site, base = served
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    sign_in(page, f"{base}/live", "super")
    expect(page.locator("#count")).to_have_text("1")

    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation",
                (event) => resolve(event.violatedDirective), {once: true});
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            setTimeout(() => resolve(window.injected ? "ran" : "no report"), 5000);
        })"""
    )
    assert blocked.startswith("script-src")
    assert page.evaluate("() => window.injected") is None
    page.evaluate(
        """() => {
            const image = document.createElement("img");
            image.setAttribute("onerror", "window.handled = true");
            image.src = "/nothing-here.png";
            document.body.append(image);
        }"""
    )
    page.wait_for_function("() => document.querySelector('img').complete")
    assert page.evaluate("() => window.handled") is None
    assert any("Content Security Policy" in text for text in violations)

    with database(site).session() as session:  # live.js, from /static, follows the stream
        calls.start_call(
            session, call_id="call-new", caller="+40722555666", channel="terminal",
            flow_version=_version(session), language="en", at=datetime.now(UTC),
        )  # fmt: skip
    expect(page.locator("#count")).to_have_text("2")
    expect(page.locator("#live")).to_contain_text("terminal")


def test_the_sites_own_pages_break_no_rule_of_the_csp(served, browser):  # noqa: F811
    _, base = served
    page = browser.new_page()
    page.add_init_script(
        """window.violations = [];
        document.addEventListener("securitypolicyviolation",
            (event) => window.violations.push(event.violatedDirective + " " + event.blockedURI));"""
    )
    sign_in(page, f"{base}/", "super")
    for path in ("/", "/calls", "/tickets", "/callbacks", "/live", "/phone", "/account"):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("load")
        assert page.evaluate("() => window.violations") == [], path
    body = page.locator("body")
    assert body.evaluate("(b) => getComputedStyle(b).fontFamily").startswith("system-ui")


def _version(session) -> str:
    return session.scalar(select(Call.flow_version).limit(1))


def test_playing_and_seeking_a_recording_is_one_audit_row(served, browser):  # noqa: F811
    site, base = served
    store = Recordings.local(database(site), site.settings.data_dir / "recordings")
    # half an hour: the player buffers part of it, so a seek to the end fetches another range
    long = store.save_wav(site.roads_call, "call", wav(seconds=1800, rate=16000), datetime.now(UTC))
    page = browser.new_page()
    ranges: list[str] = []
    page.on("request", lambda request: ranges.append(request.headers.get("range", "")))
    sign_in(page, f"{base}/calls/{site.roads_call}", "super")
    audio = page.locator(f"audio[src$='{long.id}']")
    audio.evaluate("element => element.play()")
    page.wait_for_function("(audio) => audio.currentTime > 0.2", arg=audio.element_handle())
    audio.evaluate(
        "element => { element.currentTime = element.duration - 2; }"
    )  # the player fetches a range
    page.wait_for_function("(audio) => audio.ended", arg=audio.element_handle())
    assert len([r for r in ranges if r.startswith("bytes=")]) >= 2, "several ranges fetched"
    plays = select(AuditEntry.details).where(AuditEntry.action == "recording.play")
    with database(site).session(read_only=True) as session:
        assert [entry["call"] for entry in session.scalars(plays)] == [site.roads_call]
