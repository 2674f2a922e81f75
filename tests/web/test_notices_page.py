"""The announcements and closures page refuses what it cannot use, with a message, and
stores nothing then; a supervisor withdraws an announcement and removes a closure; officers
can do none of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from site_data import token
from sqlalchemy import func, select

from ivr.storage.models import Announcement, AuditEntry, OfficeClosure
from ivr.storage.notices import add_announcement, add_closure, announcements_on, closures_from


def _count(site, model) -> int:
    with site.app.extensions["civicline"].database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_an_announcement_missing_a_language_or_ending_before_it_starts_is_refused(site, supervisor):
    csrf = token(supervisor, "/notices")
    base = {
        "announcement-csrf_token": csrf,
        "announcement-text_ro": "Apa este oprită.",
        "announcement-text_en": "The water is cut.",
        "announcement-starts": "2027-01-10",
        "announcement-ends": "2027-01-12",
        "announcement-placement": "main",
    }
    refused = {
        "text_en": ("  ", "text_en: This field is required."),
        "ends": ("2027-01-09", "cannot end before it starts"),
        "placement": ("everywhere", "placement: Not a valid choice."),
    }
    for field, (value, message) in refused.items():
        data = {**base, f"announcement-{field}": value}
        reply = supervisor.post("/notices/announcements", data=data, follow_redirects=True)
        assert message in reply.get_data(as_text=True), field
    bad_day = supervisor.post(
        "/notices/closures",
        data={"closure-csrf_token": csrf, "closure-day": "31.12.2026",
              "closure-department": "roads", "closure-reason": "x"},
        follow_redirects=True,
    )  # fmt: skip
    assert "day: Not a valid date value." in bad_day.get_data(as_text=True)
    assert _count(site, Announcement) == _count(site, OfficeClosure) == 0
    with site.app.extensions["civicline"].database.session() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert not actions & {"announcement.add", "closure.add"}


def test_officers_cannot_see_or_add_announcements(site, officer):
    assert officer.get("/notices").status_code == 403
    assert officer.post("/notices/closures", data={}).status_code in (400, 403)
    assert _count(site, OfficeClosure) == 0


def test_an_announcement_is_withdrawn_and_a_closure_removed_at_once_and_audited(site, supervisor):
    database = site.app.extensions["civicline"].database
    today = datetime.now(UTC).date()  # the demo city's zone is at most a day away
    with database.session() as session:
        water = add_announcement(session, texts={"ro": "Apa.", "en": "Water."},
                                 starts=today - timedelta(days=1), ends=today + timedelta(days=3),
                                 placement="main", actor="super", at=datetime.now(UTC))  # fmt: skip
        closure = add_closure(session, day=today + timedelta(days=2), department="roads",
                              reason="staff day", actor="super", at=datetime.now(UTC))  # fmt: skip
        water_id, closure_id = water.id, closure.id
    csrf = token(supervisor, "/notices")
    assert supervisor.post(f"/notices/announcements/{water_id}/withdraw").status_code == 400
    for path in (f"announcements/{water_id}/withdraw", f"closures/{closure_id}/remove"):
        reply = supervisor.post(f"/notices/{path}", data={"csrf_token": csrf})
        assert reply.status_code == 302, path
    for gone in ("announcements/999/withdraw", f"closures/{closure_id}/remove"):
        assert supervisor.post(f"/notices/{gone}", data={"csrf_token": csrf}).status_code == 404
    page = supervisor.get("/notices").get_data(as_text=True)
    assert "withdrawn by super" in page and f'id="closure-{closure_id}"' not in page
    with database.session() as session:
        for day in range(-1, 4):
            assert announcements_on(session, today + timedelta(days=day)) == ()
        assert closures_from(session, today) == ()
        actions = dict(session.execute(select(AuditEntry.action, AuditEntry.target)).all())
    assert actions["announcement.withdraw"] == str(water_id)
    assert actions["closure.remove"] == str(closure_id)


def test_officers_cannot_withdraw_or_remove(site, officer):
    assert officer.post("/notices/announcements/1/withdraw", data={}).status_code in (400, 403)
    assert officer.post("/notices/closures/1/remove", data={}).status_code in (400, 403)
