"""The site in Romanian, Bulgarian and English: every page in the chosen language with no
English string of the catalogue left over, the flow's own names for departments, categories
and statuses (the demo flow has no Bulgarian, so its Romanian names), the choice kept on
the account across sign-outs and devices, Accept-Language before a choice, catalogues that
match the source and their compiled `.mo`; and in Chromium, a supervisor switching to
Romanian, then Bulgarian."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from playwright.sync_api import expect
from site_data import PASSWORD, login, sign_in, token
from test_site_browser import browser, served  # noqa: F401  # the site and Chromium fixtures

from ivr.storage.models import User
from ivr.web.names import node_name

TRANSLATIONS = Path(__file__).parents[2] / "ivr" / "web" / "translations"
NAV = {"ro": "Sesizări", "bg": "Сигнали", "en": "Tickets"}
ROADS = {"ro": "Drumuri și infrastructură", "bg": "Drumuri și infrastructură"}
ROADS["en"] = "Roads and infrastructure"


def _catalog(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file)


def _english(language: str) -> set[str]:
    """The catalogue's English strings that read differently in `language`, as a page shows
    them (placeholders cut out: what is left of the msgid around them)."""
    catalog = _catalog(language)
    translated = "\n".join(m.string for m in catalog if m.id and isinstance(m.string, str))
    found = set()
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or message.string == message.id:
            continue
        for part in re.split(r"%\(\w+\)[sd]|\{choice\}", message.id.replace("%%", "%")):
            part = part.strip(" :;,.()“”?")
            if len(part) > 3 and not re.search(rf"\b{re.escape(part)}\b", translated):
                found.add(part)  # ("Note" is Romanian too: "Note și răspunsuri")
    return found


class _Text(HTMLParser):
    """The text a person reads on a page (and its labels), without scripts, styles and the
    predefined replies (the flow's texts, in the citizen's language)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style") or ("class", "reply-text") in attrs:
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "data-confirm", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "label") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def _text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def _choose(client, language: str, page: str = "/login") -> None:
    reply = client.post(
        "/language", data={"language": language, "next": page, "csrf_token": token(client, page)}
    )
    assert reply.status_code == 302 and reply.headers["Location"] == page


def _pages(site) -> dict[str, str]:
    return {
        "dashboard": "/",
        "calls": "/calls",
        "call": f"/calls/{site.roads_call}",
        "tickets": "/tickets",
        "ticket": f"/tickets/{site.roads_ref}",
        "callbacks": "/callbacks",
        "live": "/live",
        "audit": "/audit",
        "officers": "/officers",
        "users": "/users",
        "account": "/account",
        "health": "/health",
        "privacy": "/privacy",
        "phone": "/phone",
    }


@pytest.mark.parametrize("language", ["ro", "bg", "en"])
def test_every_page_speaks_the_chosen_language(site, language):
    client = site.app.test_client()
    _choose(client, language)
    pages = {"login": client.get("/login").get_data(as_text=True)}
    login(client, "admin")
    for name, path in _pages(site).items():
        reply = client.get(path, headers={"Accept": "text/html"})
        assert reply.status_code == 200, (name, reply.status_code)
        pages[name] = reply.get_data(as_text=True)
    english = _english("ro" if language == "en" else language) - {"admin"}  # a username too
    nodes = [
        node_name(code) for code in site.app.extensions["civicline"].flows.current().flow.nodes
    ]
    for name, html in pages.items():
        assert f'<html lang="{language}">' in html, name
        shown = _text(html)
        for node in nodes:  # the flow's node ids read as phrases ("No answer: mesaj")
            shown = re.sub(rf"\b{re.escape(node)}\b", "", shown)
        left = sorted(
            part for part in english if re.search(rf"(?<![\w-]){re.escape(part)}(?![\w=-])", shown)
        )
        if language == "en":
            assert left, name  # the check below would see English strings if they were left
        else:
            assert left == [], (name, left)
        if name != "login":
            assert NAV[language] in shown, name
    assert ROADS[language] in _text(pages["ticket"])
    assert ROADS[language] in _text(pages["call"])


def test_the_flow_names_follow_the_site_language_where_the_flow_has_it(site, admin):
    _choose(admin, "ro", "/tickets")
    ticket = _text(admin.get(f"/tickets/{site.roads_ref}").get_data(as_text=True))
    assert "groapă în carosabil" in ticket and "înregistrată" in ticket
    assert "pothole" not in ticket and "Roads and infrastructure" not in ticket
    _choose(admin, "bg", "/tickets")  # the demo flow has no Bulgarian: its default, Romanian
    ticket = _text(admin.get(f"/tickets/{site.roads_ref}").get_data(as_text=True))
    assert "Сигнал " + site.roads_ref in ticket and "groapă în carosabil" in ticket
    _choose(admin, "en", "/tickets")
    ticket = _text(admin.get(f"/tickets/{site.roads_ref}").get_data(as_text=True))
    assert "pothole" in ticket and "registered" in ticket


def test_dates_are_written_the_locale_s_way(site, admin):
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Bucharest")).date()
    headings = {"ro": "Apeluri înapoi pe ", "bg": "Обратни обаждания на ", "en": "Callbacks on "}
    for language, heading in headings.items():
        _choose(admin, language, "/callbacks")
        page = _text(admin.get("/callbacks").get_data(as_text=True))
        day = " ".join(format_date(today, "medium", locale=language).split())
        assert heading + day in page, language


def test_the_choice_is_kept_on_the_account_across_sign_out_and_devices(site, supervisor):
    _choose(supervisor, "bg", "/tickets")
    assert "Сигнали" in supervisor.get("/tickets").get_data(as_text=True)
    supervisor.post("/logout", data={"csrf_token": token(supervisor, "/tickets")})
    assert '<html lang="en">' in supervisor.get("/login").get_data(as_text=True)

    other_device = site.app.test_client()
    login(other_device, "super")
    assert '<html lang="bg">' in other_device.get("/").get_data(as_text=True)
    database = site.app.extensions["civicline"].database
    with database.session(read_only=True) as db:
        languages = {user.username: user.language for user in db.query(User)}
    assert languages == {"super": "bg", "admin": None, "roads": None}


def test_before_a_choice_the_browser_s_languages_then_the_flow_s_default(site):
    client = site.app.test_client()

    def login_page(accept: str | None) -> str:
        headers = {"Accept-Language": accept} if accept else {}
        return _text(client.get("/login", headers=headers).get_data(as_text=True))

    assert "Вход" in login_page("bg-BG,bg;q=0.9,en;q=0.5")
    assert "Autentificare" in login_page("de-DE,ro;q=0.8")
    assert "Autentificare" in login_page("de-DE,de;q=0.9")  # nothing we speak: the flow's ro
    assert "Sign in" in login_page(None)
    page = client.get("/login", headers={"Accept-Language": "bg"}).get_data(as_text=True)
    client.post(
        "/login",
        data={"username": "roads", "password": PASSWORD, "csrf_token": _csrf(page)},
        headers={"Accept-Language": "bg"},
    )
    assert "Сигнали" in client.get("/", headers={"Accept-Language": "bg"}).get_data(as_text=True)
    _choose(client, "en", "/")
    assert "Tickets" in client.get("/", headers={"Accept-Language": "bg"}).get_data(as_text=True)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]


def test_an_unknown_language_is_refused(admin):
    reply = admin.post("/language", data={"language": "fr", "csrf_token": token(admin, "/")})
    assert reply.status_code == 400
    reply = admin.post("/language", data={"language": "ro"})
    assert reply.status_code == 400  # no CSRF token


def test_a_choice_goes_back_only_to_a_page_of_this_site(admin):
    csrf = token(admin, "/")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        reply = admin.post("/language", data={"language": "ro", "next": target, "csrf_token": csrf})
        assert reply.headers["Location"] == "/", target


@pytest.mark.parametrize("language", ["ro", "bg"])
def test_the_catalogue_is_complete_checked_and_compiled(language, tmp_path):
    """Every string the source marks is translated (`pybabel extract` now, against the .po),
    the placeholders agree, and the committed .mo holds exactly what the .po says."""
    template = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F", "ivr/web/babel.cfg",
         "-k", "_l", "--no-location", "-o", str(template), "."],
        cwd=TRANSLATIONS.parents[2], check=True, capture_output=True,
    )  # fmt: skip
    with open(template, "rb") as file:
        wanted = {message.id for message in read_po(file) if message.id}
    catalog = _catalog(language)
    assert {message.id for message in catalog if message.id} == wanted
    assert [m.id for m in catalog if m.id and (not m.string or m.fuzzy)] == []
    assert [(m.id, errors) for m, errors in catalog.check()] == []
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as file:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(file) if m.id}
    assert compiled == {_key(m.id): _key(m.string) for m in catalog if m.id}


def _key(text):
    """A singular string as it is, a plural's forms as a tuple (read_mo gives lists)."""
    return tuple(text) if isinstance(text, list | tuple) else text


def test_in_chromium_a_supervisor_switches_to_romanian_then_bulgarian(served, browser):  # noqa: F811
    site, base = served
    page = browser.new_page()  # Chromium asks for en-US: the site starts in English
    sign_in(page, f"{base}/tickets/{site.roads_ref}", "super")
    expect(page.locator("h1")).to_have_text(f"Ticket {site.roads_ref}")
    expect(page.locator("#department")).to_have_text("Roads and infrastructure")

    page.get_by_role("button", name="Română").click()
    expect(page.locator("html")).to_have_attribute("lang", "ro")
    expect(page.locator("h1")).to_have_text(f"Sesizarea {site.roads_ref}")
    expect(page.locator("#department")).to_have_text("Drumuri și infrastructură")
    expect(page.locator("#status")).to_have_text("înregistrată")
    expect(page.get_by_role("button", name="Română")).to_be_disabled()
    page.get_by_label("Stare", exact=True).select_option("resolved")
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("#status-form button[type=submit]")
    assert questions == [
        f"Schimbați starea lui {site.roads_ref} în „rezolvată”? Apelantul este anunțat prin SMS."
    ]
    page.get_by_role("link", name="Apeluri", exact=True).click()
    expect(page.locator("h1")).to_have_text("Apeluri")
    expect(page.locator("#calls")).to_contain_text("Taxe și impozite locale")

    page.get_by_role("button", name="Български").click()
    expect(page.locator("h1")).to_have_text("Обаждания")
    expect(page.locator("#calls")).to_contain_text("Taxe și impozite locale")  # the flow's ro
    page.get_by_role("button", name="Изход").click()
    expect(page.locator("h1")).to_have_text("Sign in")  # signed out: the browser's language

    sign_in(page, f"{base}/tickets", "super")
    expect(page.locator("h1")).to_have_text("Сигнали")
    expect(page.get_by_role("link", name="Табло")).to_be_visible()
