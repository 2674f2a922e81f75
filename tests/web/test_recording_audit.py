"""Every play or download of a recording is in the audit log, and the audit page finds it."""

from __future__ import annotations

from sqlalchemy import select

from ivr.storage.models import AuditEntry


def test_playing_a_recording_is_audited_with_who_which_and_when(site, supervisor, admin):
    path = f"/calls/{site.roads_call}/recordings/{site.recording_id}"
    for _ in range(2):  # every play is an entry, not only the first
        response = supervisor.get(path)
        assert response.status_code == 200
        response.close()
    database = site.app.extensions["civicline"].database
    with database.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "recording.play")
        ).all()
    assert len(entries) == 2
    assert {(e.actor, e.target, e.details["call"]) for e in entries} == {
        ("super", site.recording_id, site.roads_call)
    }
    assert all(e.at is not None for e in entries)
    page = admin.get("/audit?action=recording").get_data(as_text=True)
    assert page.count("recording.play") == 2 and site.recording_id in page
    assert "login" not in page.split('<table id="audit">')[1]
    assert supervisor.get("/audit?action=recording").status_code == 403
