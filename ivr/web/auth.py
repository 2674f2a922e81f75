"""Signing in and out (Flask-Login), and the rule that every page but /health needs it.

Passwords are checked by `ivr.storage.directory.verify_user` (werkzeug hashes); the signed-in
account is reloaded from the database on every request, so a deactivated user or a changed
role applies at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from ivr.app_context import current_time, services
from ivr.storage.accounts import departments_of
from ivr.storage.audit import audit
from ivr.storage.directory import verify_user
from ivr.storage.models import User
from ivr.web.access import record
from ivr.web.forms import ActionForm, LoginForm

blueprint = Blueprint("auth", __name__)
PUBLIC_ENDPOINTS = frozenset({"health.health", "auth.login", "static"})


@dataclass
class SiteUser(UserMixin):  # type: ignore[misc]  # Flask-Login ships no type hints
    id: int
    username: str
    role: str
    departments: list[str] = field(default_factory=list)

    def get_id(self) -> str:
        return str(self.id)


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.session_protection = "strong"
    manager.user_loader(_load_user)
    app.before_request(_require_login)


def _load_user(user_id: str) -> SiteUser | None:
    with services().database.session(read_only=True) as session:
        user = session.get(User, int(user_id))
        if user is None or not user.active:
            return None
        return SiteUser(user.id, user.username, user.role, departments_of(session, user.id))


def _require_login() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return redirect(url_for("auth.login", next=request.full_path))


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        with services().database.session() as session:
            user = verify_user(session, form.username.data or "", form.password.data or "")
            audit(
                session,
                actor=form.username.data or "",
                action="login" if user else "login.failed",
                target=form.username.data or "",
                details={"address": request.remote_addr},
                at=current_time(),
            )
            site_user = (
                SiteUser(user.id, user.username, user.role, departments_of(session, user.id))
                if user
                else None
            )
        if site_user is not None:
            login_user(site_user)
            return redirect(_safe_next(request.args.get("next")))
        error = "Wrong username or password."
    return render_template("login.html", form=form, error=error)


@blueprint.post("/logout")
def logout() -> Any:
    if ActionForm().validate_on_submit():
        with services().database.session() as session:
            record(session, "logout", current_user.username)
        logout_user()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never another host (open redirect)."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("dashboard.index")
