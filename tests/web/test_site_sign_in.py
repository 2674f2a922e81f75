"""Signing in: failed sign-ins throttled per account and per address (in the database, so
every process counts them), unlocking by time or by an admin, TOTP two-factor sign-in, and
the security headers of every page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pyotp
from site_data import PASSWORD, build_site, login, token
from sqlalchemy import select

from ivr.clock import utc_now
from ivr.storage.models import AuditEntry, LoginThrottle, User
from ivr.web.headers import CONTENT_SECURITY_POLICY


def database(site):
    return site.app.extensions["civicline"].database


def attempt(client, username: str, password: str, address: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    csrf = token(client, "/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        environ_base=environ,
    )


def actions(site, actor: str) -> list[str]:
    with database(site).session(read_only=True) as session:
        statement = select(AuditEntry.action).where(AuditEntry.actor == actor)
        return list(session.scalars(statement.order_by(AuditEntry.id)))


def guess(client, times: int) -> None:
    for _ in range(times):
        attempt(client, "super", "guess")


def backdate(site, **fields) -> None:
    """Set `fields` on every throttle row, as if time had passed."""
    with database(site).session() as session:
        for row in session.scalars(select(LoginThrottle)):
            for name, value in fields.items():
                setattr(row, name, value)


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(site):
    client = site.app.test_client()
    for _ in range(5):
        assert "Wrong username or password" in attempt(client, "super", "guess").get_data(True)
    refused = attempt(client, "super", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins: try again in 15 minutes" in refused.get_data(True)
    assert actions(site, "super") == ["login.failed"] * 5 + ["login.locked", "login.throttled"]
    other = attempt(site.app.test_client(), "super", PASSWORD, address="10.0.0.9")
    assert other.status_code == 429, "the account is locked from every address"
    assert attempt(site.app.test_client(), "admin", PASSWORD).status_code == 302


def test_a_lock_ends_by_itself_after_the_lockout(site):
    client = site.app.test_client()
    guess(client, 5)
    backdate(site, locked_until=utc_now() - timedelta(seconds=1))
    assert attempt(client, "super", PASSWORD).status_code == 302


def test_an_admin_unlocks_an_account_on_the_users_page(site, admin):
    client = site.app.test_client()
    guess(client, 5)
    page = admin.get("/users").get_data(as_text=True)
    assert "locked until" in page and "Unlock" in page
    with database(site).session(read_only=True) as session:
        user = session.scalar(select(User.id).where(User.username == "super"))
    admin.post(f"/users/{user}/unlock", data={"csrf_token": token(admin, "/users")})
    assert attempt(client, "super", PASSWORD).status_code == 302
    assert "user.unlock" in actions(site, "admin")


def test_one_address_guessing_many_accounts_is_blocked(tmp_path):
    site = build_site(tmp_path, settings={"login_address_failures": 3})
    client = site.app.test_client()
    for name in ("nobody", "ghost", "admin"):
        attempt(client, name, "guess", address="192.0.2.7")
    assert attempt(client, "super", PASSWORD, address="192.0.2.7").status_code == 429
    assert attempt(client, "super", PASSWORD, address="192.0.2.8").status_code == 302


def test_failures_older_than_the_window_do_not_count(site):
    client = site.app.test_client()
    guess(client, 4)
    backdate(site, window_start=utc_now() - timedelta(minutes=16))
    guess(client, 1)
    assert attempt(client, "super", PASSWORD).status_code == 302


def test_a_right_password_clears_the_account_count(site):
    client = site.app.test_client()
    guess(client, 4)
    assert attempt(client, "super", PASSWORD).status_code == 302
    other = site.app.test_client()
    guess(other, 4)
    assert attempt(other, "super", PASSWORD).status_code == 302


def enrol(client) -> str:
    """Turn two-factor sign-in on from the account page; returns the key."""
    page = client.get("/account").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    assert f"secret={secret}" in page and "otpauth://totp/civicline:" in page and "<svg" in page
    wrong = client.post(
        "/account/2fa", data={"code": "000000", "csrf_token": token(client, "/account")}
    )
    assert wrong.status_code == 302
    assert "not right" in client.get("/account").get_data(as_text=True)
    code = pyotp.TOTP(secret).now()
    client.post("/account/2fa", data={"code": code, "csrf_token": token(client, "/account")})
    assert "Two-factor sign-in is on" in client.get("/account").get_data(as_text=True)
    return secret


def test_two_factor_sign_in_asks_for_a_code_that_works_once(site, supervisor):
    secret = enrol(supervisor)
    client = site.app.test_client()
    reply = attempt(client, "super", PASSWORD)
    assert reply.status_code == 302 and "/login/code" in reply.headers["Location"]
    assert client.get("/calls").status_code == 302, "a password alone opens nothing"

    used = pyotp.TOTP(secret).now()  # the code enrolment just used
    send = {"code": used, "csrf_token": token(client, "/login/code")}
    assert "Wrong or used code" in client.post("/login/code", data=send).get_data(True)
    following = pyotp.TOTP(secret).at(utc_now() + timedelta(seconds=30))
    send["code"] = following
    assert client.post("/login/code", data=send).status_code == 302
    assert client.get("/calls").status_code == 200
    assert "login.code_failed" in actions(site, "super")


def test_wrong_codes_count_towards_the_lock(site, supervisor):
    enrol(supervisor)
    client = site.app.test_client()
    attempt(client, "super", PASSWORD)
    for _ in range(5):
        client.post(
            "/login/code", data={"code": "123456", "csrf_token": token(client, "/login/code")}
        )
    refused = client.post(
        "/login/code", data={"code": "654321", "csrf_token": token(client, "/login/code")}
    )
    assert refused.status_code == 429


def test_admins_must_enrol_when_two_factor_is_required(tmp_path):
    site = build_site(tmp_path, settings={"require_2fa": True})
    admin = site.app.test_client()
    login(admin, "admin")
    reply = admin.get("/calls")
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/account")
    enrol(admin)
    assert admin.get("/calls").status_code == 200
    supervisor = site.app.test_client()
    login(supervisor, "super")
    assert supervisor.get("/calls").status_code == 200, "only admins must"


def test_every_page_carries_the_security_headers(site, admin):
    for path in ("/login", "/calls", "/health", "/static/live.js"):
        headers = admin.get(path).headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_hsts_is_sent_with_secure_cookies(tmp_path):
    site = build_site(tmp_path, settings={"secure_cookies": True})
    response = site.app.test_client().get("/health", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_template_has_inline_script_event_handlers_or_styles():
    templates = Path(__file__).resolve().parents[2] / "ivr" / "web" / "templates"
    for template in templates.glob("*.html"):
        html = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), template.name
        assert not re.search(r"\son[a-z]+\s*=", html), template.name
        assert not re.search(r"<style|\sstyle\s*=", html), template.name
