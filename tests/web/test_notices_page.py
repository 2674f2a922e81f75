"""The announcements and closures page refuses what it cannot use, with a message, and
stores nothing then; officers cannot open it."""

from __future__ import annotations

from site_data import token
from sqlalchemy import func, select

from ivr.storage.models import Announcement, AuditEntry, OfficeClosure


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
