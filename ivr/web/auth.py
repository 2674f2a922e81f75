"""Signing in and out (Flask-Login over server-side sessions), and the rule that every page
but /health needs it.

The cookie (Flask's signed session) carries a random session token; the identity, its
idle time and its age live in `site_sessions` (`ivr.storage.sessions`), read on every
request, so logout, a password change, a disabled account or "sign out everywhere" end a
session in every process at once, and a copied cookie opens nothing afterwards. Failed
sign-ins are counted per account and per client address in the database
(`ivr.storage.throttle`); an account with a TOTP key gives a code after its password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy.orm import Session

from ivr.app_context import current_time, services, settings
from ivr.storage import sessions, throttle
from ivr.storage.accounts import departments_of
from ivr.storage.audit import audit
from ivr.storage.directory import verify_user
from ivr.storage.models import User
from ivr.storage.twofactor import check_code
from ivr.web.access import record
from ivr.web.forms import ActionForm, CodeForm, LoginForm
from ivr.web.language import CHOSEN, LANGUAGES
from ivr.web.params import safe_next

blueprint = Blueprint("auth", __name__)
PUBLIC_ENDPOINTS = frozenset(
    {"health.health", "auth.login", "auth.code", "language.choose", "static"}
)
ENROL_ENDPOINTS = frozenset(
    {"account.page", "account.enrol", "auth.logout", "language.choose", "static"}
)
TOKEN = "site_session"
"""The key of the session token in Flask's signed cookie."""
PENDING = "pending_2fa"
"""The key of (user id, time) between a right password and the code that completes it."""
CODE_WAIT = timedelta(minutes=5)


@dataclass
class SiteUser(UserMixin):  # type: ignore[misc]  # Flask-Login ships no type hints
    id: int
    username: str
    role: str
    departments: list[str] = field(default_factory=list)
    two_factor: bool = False
    language: str | None = None

    def get_id(self) -> str:
        return str(self.id)


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.user_loader(_load_user)
    app.before_request(_require_login)


def _limits() -> tuple[timedelta, timedelta]:
    config = settings()
    return timedelta(minutes=config.session_idle_minutes), timedelta(
        hours=config.session_lifetime_hours
    )


def _load_user(user_id: str) -> SiteUser | None:
    """The user of this request's server-side session, or None (then the login page)."""
    token = session.get(TOKEN)
    if not isinstance(token, str):
        return None
    now = current_time()
    with services().database.session(read_only=True) as db:
        found = sessions.find_session(db, token, now, *_limits())
        user = db.get(User, found.user_id) if found else None
        if found is None or user is None or not user.active or str(user.id) != user_id:
            return None
        stale = now - found.seen_at > sessions.TOUCH_EVERY
        site_user = _site_user(db, user)
    if stale:
        with services().database.session() as db:
            sessions.touch(db, token, now)
    return site_user


def _site_user(db: Session, user: User) -> SiteUser:
    departments = departments_of(db, user.id)
    two_factor = user.totp_secret is not None
    return SiteUser(user.id, user.username, user.role, departments, two_factor, user.language)


def _require_login() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if _must_enrol() and request.endpoint not in ENROL_ENDPOINTS:
        return redirect(url_for("account.page"))
    return None


def _must_enrol() -> bool:
    """An admin without two-factor sign-in where CIVICLINE_REQUIRE_2FA asks for it."""
    return settings().require_2fa and current_user.role == "admin" and not current_user.two_factor


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form, error=None)
    username = form.username.data or ""
    now = current_time()
    with services().database.session() as db:
        if refusal := _throttled(db, username, now):
            return render_template("login.html", form=form, error=refusal), 429
        user = verify_user(db, username, form.password.data or "")
        if user is None:
            _failed(db, username, "login.failed", now)
            return render_template("login.html", form=form, error=_("Wrong username or password."))
        chosen = session.get(CHOSEN)
        if user.language is None and chosen in LANGUAGES:
            user.language = chosen  # the language picked on the sign-in page is kept
        if user.totp_secret is not None:
            session.clear()
            session[PENDING] = [user.id, now.timestamp()]
            return redirect(url_for("auth.code", next=request.args.get("next")))
        _begin(db, user, now)
    return redirect(safe_next(request.args.get("next")))


@blueprint.route("/login/code", methods=["GET", "POST"])
def code() -> Any:
    """The second step of a two-factor sign-in: a code from the authenticator app."""
    pending = session.get(PENDING)
    now = current_time()
    if not pending or now.timestamp() - pending[1] > CODE_WAIT.total_seconds():
        session.pop(PENDING, None)
        return redirect(url_for("auth.login", next=request.args.get("next")))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("login_code.html", form=form, error=None)
    with services().database.session() as db:
        user = db.get(User, pending[0])
        if user is None or not user.active:
            return redirect(url_for("auth.login"))
        if refusal := _throttled(db, user.username, now):
            return render_template("login_code.html", form=form, error=refusal), 429
        if not check_code(user, form.code.data or "", now):
            _failed(db, user.username, "login.code_failed", now)
            return render_template("login_code.html", form=form, error=_("Wrong or used code."))
        _begin(db, user, now)
    return redirect(safe_next(request.args.get("next")))


def _throttled(db: Session, username: str, now: datetime) -> str | None:
    """The refusal while this account or address is locked (audited), else None."""
    keys = [throttle.account_key(username), throttle.address_key(request.remote_addr)]
    until = throttle.locked_until(db, keys, now)
    if until is None:
        return None
    _audit(db, username, "login.throttled", now)
    minutes = max(1, round((until - now).total_seconds() / 60))
    return _(
        "Too many failed sign-ins: try again in %(minutes)s minutes, "
        "or ask an administrator to unlock the account.",
        minutes=minutes,
    )


def _failed(db: Session, username: str, action: str, now: datetime) -> None:
    """Audit a failed sign-in and count it against the account and the address."""
    _audit(db, username, action, now)
    config = settings()
    window = timedelta(minutes=config.login_window_minutes)
    lockout = timedelta(minutes=config.login_lockout_minutes)
    limits = (
        (throttle.account_key(username), config.login_account_failures),
        (throttle.address_key(request.remote_addr), config.login_address_failures),
    )
    for key, limit in limits:
        until = throttle.count_failure(db, key, now, limit=limit, window=window, lockout=lockout)
        if until is not None:
            _audit(db, username, "login.locked", now, key=key, until=until.isoformat())


def _audit(db: Session, username: str, action: str, now: datetime, **details: Any) -> None:
    details["address"] = request.remote_addr
    audit(db, actor=username, action=action, target=username, details=details, at=now)


def _begin(db: Session, user: User, now: datetime) -> None:
    """Sign `user` in: a fresh cookie (no fixation) pointing at a new server-side session."""
    throttle.clear(db, throttle.account_key(user.username))
    sessions.sweep_sessions(db, now, *_limits())
    session.clear()
    session[TOKEN] = sessions.start_session(db, user.id, now, request.remote_addr)
    _audit(db, user.username, "login", now)
    login_user(_site_user(db, user))


@blueprint.post("/logout")
def logout() -> Any:
    if ActionForm().validate_on_submit():
        with services().database.session() as db:
            record(db, "logout", current_user.username)
            token = session.get(TOKEN)
            if isinstance(token, str):
                sessions.end_session(db, token)
        logout_user()
        session.clear()
    return redirect(url_for("auth.login"))
