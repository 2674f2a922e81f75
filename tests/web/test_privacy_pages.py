"""The admins' privacy pages: who may open them, CSRF, the holdings summary, the export zip,
and an erasure through the page that leaves no trace of the number."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

from site_data import Site, token
from sqlalchemy import select

from ivr.privacy.holdings import find
from ivr.privacy.subject import subject
from ivr.recordings import Recordings
from ivr.storage.models import AuditEntry, Recording

sys.path.insert(0, str(Path(__file__).parents[1] / "privacy"))
from privacy_people import NATIONAL, OTHER, PERSON, TUESDAY, WORDS, make_person, traces

MASKED = "+40 722 *** 222"
ERASED = "+40744555666"


def _database(site: Site):
    return site.app.extensions["civicline"].database


def _post(client, path: str, **data: str):
    return client.post(path, data={"csrf_token": token(client, "/calls"), **data})


def _entries(site: Site, action: str) -> list[AuditEntry]:
    with _database(site).session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_only_admins_open_the_privacy_pages(site, admin, supervisor, officer):
    assert 'href="/privacy"' in admin.get("/calls").get_data(as_text=True)
    for client in (supervisor, officer):
        assert 'href="/privacy"' not in client.get("/calls").get_data(as_text=True)
        assert client.get("/privacy").status_code == 403
        for path in ("/privacy", "/privacy/export", "/privacy/erase"):
            reply = _post(client, path, number=PERSON, confirm=PERSON, force="y")
            assert reply.status_code == 403, path
    assert traces(_database(site), NATIONAL), "nothing erased"
    assert not _entries(site, "privacy.export") and not _entries(site, "privacy.lookup")


def test_a_form_without_its_csrf_token_is_refused(site, admin):
    for path in ("/privacy", "/privacy/export", "/privacy/erase"):
        reply = admin.post(path, data={"number": PERSON, "confirm": PERSON, "force": "y"})
        assert reply.status_code == 400, path
    assert traces(_database(site), NATIONAL)
    assert not _entries(site, "privacy.erase") and not _entries(site, "privacy.export")


def test_looking_up_a_number_in_any_format_shows_what_is_held(site, admin):
    page = admin.get("/privacy").get_data(as_text=True)
    assert 'id="lookup"' in page and 'id="erase"' not in page
    reply = _post(admin, "/privacy", number="0722 111 222")
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    with _database(site).session() as session:
        counts = find(session, subject(PERSON, "RO")).counts()
    assert counts["calls"] == 2 and counts["recordings"] == 1
    for kind, count in counts.items():
        assert f"<td>{kind}</td><td>{count}</td>" in page
    assert PERSON in page and site.roads_ref in page.split('id="open-tickets"')[1]
    [entry] = _entries(site, "privacy.lookup")
    assert (entry.actor, entry.target, entry.details["rows"]) == ("admin", MASKED, counts)
    bad = _post(admin, "/privacy", number="hello")
    assert bad.status_code == 400 and "not a phone number" in bad.get_data(as_text=True)
    nothing = _post(admin, "/privacy", number="+40733000000").get_data(as_text=True)
    assert "Nothing is held about this number." in nothing


def test_the_export_downloads_data_and_audio_and_is_audited(site, admin):
    reply = _post(admin, "/privacy/export", number="0040722111222")
    assert reply.status_code == 200 and reply.mimetype == "application/zip"
    assert "privacy-export-40722111222.zip" in reply.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(reply.get_data()))
    data = json.loads(archive.read("data.json"))
    reply.close()
    assert data["number"] == PERSON
    assert {t["ref"] for t in data["tables"]["tickets"]} >= {site.roads_ref}
    with _database(site).session() as session:
        path = session.get(Recording, site.recording_id).path
    assert archive.namelist().count(f"audio/{path}") == 1
    [entry] = _entries(site, "privacy.export")
    assert (entry.actor, entry.target) == ("admin", MASKED)
    assert entry.details["recordings"] == [site.recording_id]


def test_erasing_through_the_page_asks_twice_and_leaves_no_trace(site, admin):
    """A person made through the real call paths (calls on every kind of line, a report with
    its recordings, a callback, SMS, a note naming them), erased in any format."""
    database = _database(site)
    services = site.app.extensions["civicline"]
    root = site.settings.data_dir / "recordings"
    store = Recordings.local(database, root)
    ref = make_person(services, store, ERASED, TUESDAY)
    make_person(services, store, OTHER, TUESDAY, "lamp out in Ionescu street", "Ionescu")
    files = list(root.rglob("*.wav"))
    differs = _post(admin, "/privacy/erase", number=ERASED, confirm="0744555667")
    assert differs.status_code == 400 and "differs" in differs.get_data(as_text=True)
    refused = _post(admin, "/privacy/erase", number=ERASED, confirm="0744 555 666")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and f"open tickets {ref}" in page
    assert 'name="force"' in page and "nobody can call or text the caller back" in page
    assert traces(database, "744555666", "Popescu", WORDS) and all(p.exists() for p in files)
    assert not _entries(site, "privacy.erase")

    done = _post(admin, "/privacy/erase", number=ERASED, confirm="0040744555666", force="y")
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "Erased: +40 744 *** 666" in page
    assert ref in page.split('id="kept-open"')[1] and "744555666" not in page
    assert not traces(database, "744555666", "Popescu", WORDS)
    assert traces(database, OTHER[3:], "Ionescu", NATIONAL), "others' data stays"
    [entry] = _entries(site, "privacy.erase")
    assert (entry.actor, entry.target) == ("admin", "+40 744 *** 666")
    left = [p for p in files if p.exists()]
    assert len(left) == len(files) - entry.details["recording_files"] > 0
    database.dispose()
    for path in site.settings.data_dir.rglob("*"):
        if path.is_file():
            assert b"744555666" not in path.read_bytes(), path
