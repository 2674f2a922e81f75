"""The officers admin page: admins add officers and change their department, callback
capacity and leave, and which departments officer accounts see; each change is audited;
bad input is refused with a message; supervisors and officers cannot open it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from site_data import token
from sqlalchemy import select

from ivr.storage.accounts import departments_of
from ivr.storage.models import AuditEntry, Officer, OfficerLeave, User


def _database(site):
    return site.app.extensions["civicline"].database


def _officer(site) -> Officer:
    with _database(site).session() as session:
        officer = session.scalars(select(Officer).where(Officer.name == "Ana Pop")).one()
        session.expunge(officer)
        return officer


def _actions(site) -> list[str]:
    with _database(site).session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_an_admin_adds_an_officer_and_changes_department_capacity_and_status(site, admin):
    csrf = token(admin, "/officers")
    added = admin.post(
        "/officers",
        data={"new-csrf_token": csrf, "new-name": "Ion <b>Ionescu</b>", "new-phone": "0722 123 456",
              "new-department": "lighting", "new-capacity": "3"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Officer Ion &lt;b&gt;Ionescu&lt;/b&gt; added." in added.get_data(as_text=True)
    ana = _officer(site)
    prefix = f"officer-{ana.id}"
    admin.post(
        f"/officers/{ana.id}",
        data={
            f"{prefix}-csrf_token": csrf,
            f"{prefix}-name": "Ana Pop",
            f"{prefix}-department": "taxes",
            f"{prefix}-capacity": "5",
        },
    )  # fmt: skip  (active unticked)
    with _database(site).session() as session:
        ion = session.scalars(select(Officer).where(Officer.department == "lighting")).one()
        assert (ion.phone, ion.callback_capacity, ion.active) == ("+40722123456", 3, True)
        ana_now = session.get(Officer, ana.id)
        assert ana_now is not None
        assert (ana_now.department, ana_now.callback_capacity, ana_now.active) == (
            "taxes",
            5,
            False,
        )
        update = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "officer.update")
        ).one()
        assert update.actor == "admin" and update.details["department"] == ["roads", "taxes"]
        assert update.details["capacity"] == [2, 5] and "name" not in update.details
    assert _actions(site)[-2:] == ["officer.add", "officer.update"]


@pytest.mark.parametrize("capacity", ["-1", "51", "many"])
def test_a_capacity_out_of_range_is_refused(site, admin, capacity):
    ana = _officer(site)
    prefix = f"officer-{ana.id}"
    reply = admin.post(
        f"/officers/{ana.id}",
        data={f"{prefix}-csrf_token": token(admin, "/officers"), f"{prefix}-name": "Ana Pop",
              f"{prefix}-department": "roads", f"{prefix}-capacity": capacity,
              f"{prefix}-active": "y"},
        follow_redirects=True,
    )  # fmt: skip
    assert "capacity:" in reply.get_data(as_text=True)
    assert _officer(site).callback_capacity == 2
    assert "officer.update" not in _actions(site)


def test_a_phone_that_is_no_number_is_refused(site, admin):
    reply = admin.post(
        "/officers",
        data={"new-csrf_token": token(admin, "/officers"), "new-name": "X", "new-phone": "abc",
              "new-department": "roads", "new-capacity": "1"},
        follow_redirects=True,
    )  # fmt: skip
    assert "not a phone number: abc" in reply.get_data(as_text=True)
    with _database(site).session() as session:
        assert session.scalars(select(Officer).where(Officer.name == "X")).first() is None


def test_leave_is_added_in_local_days_shown_and_removed(site, admin):
    ana = _officer(site)
    prefix = f"leave-{ana.id}"
    csrf = token(admin, "/officers")
    year = datetime.now(UTC).year + 1
    page = admin.post(
        f"/officers/{ana.id}/leave",
        data={f"{prefix}-csrf_token": csrf, f"{prefix}-first": f"{year}-07-06",
              f"{prefix}-last": f"{year}-07-10"},
        follow_redirects=True,
    ).get_data(as_text=True)  # fmt: skip
    assert f"{year}-07-06 – {year}-07-10" in page
    with _database(site).session() as session:
        leave = session.scalars(select(OfficerLeave)).one()
        # Bucharest is UTC+3 in summer: local midnight is 21:00 UTC the day before
        assert leave.starts == datetime(year, 7, 5, 21, tzinfo=UTC)
        assert leave.ends == datetime(year, 7, 10, 21, tzinfo=UTC)
        leave_id = leave.id
    admin.post(f"/officers/{ana.id}/leave/{leave_id}/remove", data={"csrf_token": csrf})
    with _database(site).session() as session:
        assert session.scalars(select(OfficerLeave)).first() is None
    assert _actions(site)[-2:] == ["officer.leave.add", "officer.leave.remove"]


def test_a_leave_that_ends_before_it_starts_is_refused(site, admin):
    ana = _officer(site)
    prefix = f"leave-{ana.id}"
    page = admin.post(
        f"/officers/{ana.id}/leave",
        data={f"{prefix}-csrf_token": token(admin, "/officers"), f"{prefix}-first": "2030-07-10",
              f"{prefix}-last": "2030-07-06"},
        follow_redirects=True,
    ).get_data(as_text=True)  # fmt: skip
    assert "the leave ends (2030-07-06) before it starts (2030-07-10)" in page
    with _database(site).session() as session:
        assert session.scalars(select(OfficerLeave)).first() is None


def test_an_admin_sets_the_departments_an_officer_account_sees(site, admin):
    with _database(site).session() as session:
        user_id = session.scalars(select(User.id).where(User.username == "roads")).one()
    prefix = f"account-{user_id}"
    admin.post(
        f"/officers/accounts/{user_id}",
        data={f"{prefix}-csrf_token": token(admin, "/officers"),
              f"{prefix}-departments": ["roads", "taxes"]},
    )  # fmt: skip
    with _database(site).session() as session:
        assert departments_of(session, user_id) == ["roads", "taxes"]
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "account.departments")
        ).one()
        assert entry.target == "roads" and entry.details["departments"] == [
            ["roads"],
            ["roads", "taxes"],
        ]


def test_only_admins_open_the_officers_page(site, admin, supervisor, officer):
    assert admin.get("/officers").status_code == 200
    assert 'href="/officers"' in admin.get("/").get_data(as_text=True)
    ana = _officer(site)
    for client in (supervisor, officer):
        assert client.get("/officers").status_code == 403
        assert 'href="/officers"' not in client.get("/calls").get_data(as_text=True)
        prefix = f"officer-{ana.id}"
        reply = client.post(
            f"/officers/{ana.id}",
            data={f"{prefix}-csrf_token": token(client, "/calls"), f"{prefix}-name": "Ana Pop",
                  f"{prefix}-department": "taxes", f"{prefix}-capacity": "9"},
        )  # fmt: skip
        assert reply.status_code == 403
    assert _officer(site).callback_capacity == 2


def test_a_change_without_the_csrf_token_is_refused(site, admin):
    ana = _officer(site)
    prefix = f"officer-{ana.id}"
    reply = admin.post(
        f"/officers/{ana.id}",
        data={f"{prefix}-name": "Ana Pop", f"{prefix}-department": "taxes",
              f"{prefix}-capacity": "9"},
    )  # fmt: skip
    assert reply.status_code == 400
    assert _officer(site).callback_capacity == 2
