"""Signing in to the supervisor site in the callback tests (through the login form)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ivr.storage.db import Database
from ivr.storage.directory import add_user


def supervisor_client(app: Flask, database: Database) -> Any:
    with database.session() as session:
        add_user(session, "ana", "correct horse", "supervisor")
    return logged_in(app)


def logged_in(app: Flask) -> Any:
    """Another browser of the supervisor `ana` (added by `supervisor_client`)."""
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    form = {"username": "ana", "password": "correct horse", "csrf_token": token}
    assert client.post("/login", data=form).status_code == 302
    return client


def csrf_token(html: str) -> str:
    for marker in ('name="csrf_token" type="hidden" value="', 'name="csrf_token" value="'):
        if marker in html:
            start = html.index(marker) + len(marker)
            return html[start : html.index('"', start)]
    raise AssertionError("no CSRF token on the page")
