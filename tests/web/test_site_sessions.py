"""Sessions live on the server: a cookie copied before logout, a password change, a disabled
account or "sign out everywhere" opens nothing afterwards; idle and old sessions end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from site_data import PASSWORD, build_site, login, token
from sqlalchemy import select

from ivr.clock import utc_now
from ivr.storage.models import AuditEntry, SiteSession, TicketNote, User

NEW_PASSWORD = "a brand new long passphrase"


def database(site):
    return site.app.extensions["civicline"].database


def cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(site, value: str):
    """A new client (another browser) carrying a copied session cookie."""
    client = site.app.test_client()
    client.set_cookie("session", value)
    return client


def opens(client, path: str) -> bool:
    response = client.get(path)
    response.close()
    return response.status_code == 200


def notes(site) -> list[str]:
    with database(site).session(read_only=True) as session:
        return list(session.scalars(select(TicketNote.body)))


def test_a_cookie_copied_before_logout_opens_nothing_after(site, supervisor):
    ticket = f"/tickets/{site.roads_ref}"
    csrf = token(supervisor, ticket)
    copied = cookie(supervisor)
    assert opens(with_cookie(site, copied), ticket), "the copy works while signed in"

    supervisor.post("/logout", data={"csrf_token": csrf})
    thief = with_cookie(site, copied)
    refused = thief.get(ticket)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    posted = thief.post(f"{ticket}/notes", data={"body": "after logout", "csrf_token": csrf})
    assert posted.status_code == 302 and "/login" in posted.headers["Location"]
    assert "after logout" not in notes(site)
    with database(site).session(read_only=True) as session:
        assert not session.scalars(
            select(SiteSession).join(User).where(User.username == "super")
        ).all()


def test_the_cookie_holds_a_random_token_not_the_identity(site, supervisor):
    other = site.app.test_client()
    login(other, "super")
    assert cookie(other) != cookie(supervisor)
    with database(site).session(read_only=True) as session:
        stored = session.scalars(select(SiteSession.id)).all()
    assert len(stored) == 2
    assert not any(value in cookie(supervisor) for value in stored), "only a hash is stored"


def _age(site, *, seen: timedelta = timedelta(0), created: timedelta = timedelta(0)) -> None:
    with database(site).session() as session:
        for row in session.scalars(select(SiteSession)):
            row.seen_at = utc_now() - seen
            row.created_at = utc_now() - created


def test_an_idle_session_ends_after_the_idle_timeout(site, supervisor):
    _age(site, seen=timedelta(minutes=29))
    assert opens(supervisor, "/calls")
    _age(site, seen=timedelta(minutes=31))
    assert supervisor.get("/calls").status_code == 302


def test_a_busy_session_ends_after_its_lifetime(site, supervisor):
    _age(site, created=timedelta(hours=11, minutes=59))
    assert opens(supervisor, "/calls")
    _age(site, created=timedelta(hours=12, minutes=1))
    assert supervisor.get("/calls").status_code == 302


def test_the_timeouts_are_settings(tmp_path):
    site = build_site(tmp_path, settings={"session_idle_minutes": 5})
    client = site.app.test_client()
    login(client, "super")
    _age(site, seen=timedelta(minutes=6))
    assert client.get("/calls").status_code == 302


def test_a_request_moves_the_idle_clock(site, supervisor):
    _age(site, seen=timedelta(minutes=20))
    assert opens(supervisor, "/calls")
    with database(site).session(read_only=True) as session:
        seen = session.scalar(select(SiteSession.seen_at))
    assert utc_now() - seen < timedelta(minutes=1)


def _user_id(site, username: str) -> int:
    with database(site).session(read_only=True) as session:
        return session.scalar(select(User.id).where(User.username == username))


def test_an_admin_signs_a_user_out_everywhere(site, admin, supervisor):
    second = site.app.test_client()
    login(second, "super")
    user = _user_id(site, "super")
    reply = admin.post(f"/users/{user}/signout", data={"csrf_token": token(admin, "/users")})
    assert reply.status_code == 302
    assert "(2 sessions)" in admin.get("/users").get_data(as_text=True)  # flashed
    assert supervisor.get("/calls").status_code == 302
    assert second.get("/calls").status_code == 302
    assert opens(admin, "/calls"), "the admin's own session goes on"


def test_disabling_a_user_ends_their_sessions_and_refuses_their_login(site, admin, supervisor):
    user = _user_id(site, "super")
    admin.post(f"/users/{user}/active", data={"csrf_token": token(admin, "/users")})
    assert supervisor.get("/calls").status_code == 302
    with pytest.raises(AssertionError):
        login(site.app.test_client(), "super")
    admin.post(f"/users/{user}/active", data={"csrf_token": token(admin, "/users")})
    login(site.app.test_client(), "super")


def test_an_admin_sets_a_new_password_which_ends_the_sessions(site, admin, supervisor):
    user = _user_id(site, "super")
    form = {"csrf_token": token(admin, "/users"), "password": "abc", "confirm": "abc"}
    admin.post(f"/users/{user}/password", data=form)
    assert "at least 12 characters" in admin.get("/users").get_data(as_text=True)
    assert opens(supervisor, "/calls"), "a refused password changes nothing"

    form.update(password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    admin.post(f"/users/{user}/password", data=form)
    assert supervisor.get("/calls").status_code == 302
    client = site.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in" in page
    csrf = token(client, "/login")
    reply = client.post(
        "/login", data={"username": "super", "password": NEW_PASSWORD, "csrf_token": csrf}
    )
    assert reply.status_code == 302


def test_changing_ones_own_password_ends_every_session(site, supervisor):
    other = site.app.test_client()
    login(other, "super")
    form = {
        "csrf_token": token(supervisor, "/account"),
        "current": PASSWORD,
        "password": "password1234",
        "confirm": "password1234",
    }
    supervisor.post("/account/password", data=form)
    assert "too easy to guess" in supervisor.get("/account").get_data(as_text=True)
    form.update(password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    reply = supervisor.post("/account/password", data=form)
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]
    assert supervisor.get("/calls").status_code == 302
    assert other.get("/calls").status_code == 302
    with database(site).session(read_only=True) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "user.password" in actions


def test_an_admin_cannot_disable_themselves(site, admin):
    user = _user_id(site, "admin")
    admin.post(f"/users/{user}/active", data={"csrf_token": token(admin, "/users")})
    assert "cannot disable your own account" in admin.get("/users").get_data(as_text=True)
    assert opens(admin, "/calls")


def test_expired_sessions_are_swept_at_the_next_sign_in(site, supervisor):
    _age(site, seen=timedelta(hours=1))
    login(site.app.test_client(), "admin")
    with database(site).session(read_only=True) as session:
        owners = session.scalars(select(User.username).join(SiteSession)).all()
    assert owners == ["admin"]


def test_only_admins_manage_users(site, supervisor, officer):
    assert supervisor.get("/users").status_code == 403
    user = _user_id(site, "roads")
    csrf = token(officer, "/calls")
    assert officer.post(f"/users/{user}/signout", data={"csrf_token": csrf}).status_code == 403
