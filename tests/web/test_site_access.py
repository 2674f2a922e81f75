"""Sign-in, roles, CSRF and escaping across the supervisor site."""

from __future__ import annotations

import pytest
from site_data import PASSWORD, XSS, login, token

PAGES = [
    "/",
    "/calls",
    "/calls.csv",
    "/tickets",
    "/tickets.csv",
    "/callbacks",
    "/live",
    "/live/stream?once=1",
    "/audit",
]


def _get(client, path):
    response = client.get(path)
    body = response.get_data(as_text=True)
    response.close()
    return response.status_code, body


@pytest.mark.parametrize("path", PAGES + ["/calls/call-roads", "/tickets/26-000001"])
def test_every_page_but_health_needs_a_login(site, path):
    client = site.app.test_client()
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_an_admin_opens_every_page(admin, path):
    assert _get(admin, path)[0] == 200


def test_wrong_password_is_refused_and_audited(site, admin):
    client = site.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    reply = client.post("/login", data={"username": "admin", "password": "no", "csrf_token": csrf})
    assert reply.status_code == 200 and "Wrong username or password" in reply.get_data(as_text=True)
    assert client.get("/calls").status_code == 302
    assert "login.failed" in _get(admin, "/audit")[1]


def test_a_login_without_the_csrf_token_is_rejected(site):
    client = site.app.test_client()
    reply = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert reply.status_code == 400


def test_a_post_without_the_csrf_token_is_rejected(site, supervisor):
    reply = supervisor.post(f"/tickets/{site.roads_ref}/status", data={"status": "closed"})
    assert reply.status_code == 400
    assert "registered" in _get(supervisor, f"/tickets/{site.roads_ref}")[1]


def test_the_session_cookie_is_httponly_samesite_and_secure_when_set(tmp_path):
    from site_data import build_site

    site = build_site(tmp_path, settings={"secure_cookies": True})
    client = site.app.test_client()
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    reply = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": csrf},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
    )
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_an_officer_sees_only_their_departments(site, officer):
    status, calls = _get(officer, "/calls")
    assert status == 200 and site.roads_call in calls and site.taxes_call not in calls
    assert _get(officer, f"/calls/{site.roads_call}")[0] == 200
    assert _get(officer, f"/calls/{site.taxes_call}")[0] == 404
    assert _get(officer, f"/calls/{site.taxes_call}/recordings/{site.recording_id}")[0] == 404
    assert _get(officer, f"/tickets/{site.roads_ref}")[0] == 200
    assert _get(officer, f"/tickets/{site.taxes_ref}")[0] == 404
    assert site.taxes_ref not in _get(officer, "/tickets")[1]
    assert site.taxes_ref not in _get(officer, "/tickets.csv")[1]
    assert site.taxes_call not in _get(officer, "/calls.csv")[1]
    csrf = token(officer, f"/tickets/{site.roads_ref}")
    reply = officer.post(
        f"/tickets/{site.taxes_ref}/status", data={"status": "closed", "csrf_token": csrf}
    )
    assert reply.status_code == 404
    assert _get(officer, "/audit")[0] == 403


def test_the_live_view_is_scoped_too(site, officer, supervisor):
    assert site.live_call in _get(supervisor, "/live/stream?once=1")[1]
    assert site.live_call not in _get(officer, "/live/stream?once=1")[1]


def test_caller_and_sms_text_is_rendered_inert(site, supervisor):
    for path in (f"/calls/{site.roads_call}", f"/tickets/{site.roads_ref}", "/tickets"):
        body = _get(supervisor, path)[1]
        assert XSS not in body
        assert "&lt;script&gt;alert(" in body


def test_an_open_redirect_after_login_is_refused(site):
    client = site.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    reply = client.post(
        "/login?next=//evil.example/",
        data={"username": "admin", "password": PASSWORD, "csrf_token": csrf},
    )
    assert reply.headers["Location"] == "/"


def test_sign_out(site, admin):
    reply = admin.post("/logout", data={"csrf_token": token(admin, "/calls")})
    assert reply.status_code == 302
    assert admin.get("/calls").status_code == 302
    login(admin, "admin")


def test_a_reassigned_ticket_s_call_opens_for_its_new_department(site, officer, supervisor):
    assert _get(officer, f"/calls/{site.taxes_call}")[0] == 404
    path = f"/tickets/{site.taxes_ref}"
    supervisor.post(
        f"{path}/department", data={"department": "roads", "csrf_token": token(supervisor, path)}
    )
    status, page = _get(officer, path)
    assert status == 200 and f"/calls/{site.taxes_call}" in page
    status, call = _get(officer, f"/calls/{site.taxes_call}")
    assert status == 200 and site.taxes_ref in call
    assert site.taxes_call not in _get(officer, "/calls")[1]  # the log keeps to departments
