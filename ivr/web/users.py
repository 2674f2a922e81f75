"""Accounts of the site, for admins: list them (role, state, two-factor, sessions, lock),
disable or enable one, set a new password, unlock after failed sign-ins, reset two-factor
sign-in, and sign one out everywhere. Each change is audited; `ivr users` does the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.app_context import current_time, services
from ivr.storage import sessions, throttle
from ivr.storage.accounts import list_users, set_active, set_password
from ivr.storage.models import LoginThrottle, User
from ivr.web.access import record, require_role
from ivr.web.forms import ActionForm, NewPasswordForm

blueprint = Blueprint("users", __name__)


@blueprint.get("/users")
@require_role("admin")
def page() -> Any:
    now = current_time()
    with services().database.session(read_only=True) as db:
        users = list_users(db)
        counts = sessions.session_counts(db)
        locked = {
            row.key: row.locked_until
            for row in db.scalars(select(LoginThrottle).where(LoginThrottle.locked_until > now))
        }
    return render_template(
        "users.html",
        users=users,
        counts=counts,
        locked={u.id: locked.get(throttle.account_key(u.username)) for u in users},
        action=ActionForm(),
        password_form=NewPasswordForm(),
    )


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _change(user_id: int, change: Callable[[Session, User], str]) -> Any:
    """Apply one button's `change` to the user (CSRF-checked), then flash what it did."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with services().database.session() as db:
        message = change(db, _user(db, user_id))
    return _back(message)


def _back(message: str) -> Any:
    flash(message)
    return redirect(url_for("users.page"))


@blueprint.post("/users/<int:user_id>/active")
@require_role("admin")
def toggle_active(user_id: int) -> Any:
    def toggle(db: Session, user: User) -> str:
        if user.id == current_user.id:
            return _("You cannot disable your own account (another admin can).")
        set_active(db, user, not user.active)
        record(db, "user.enable" if user.active else "user.disable", user.username)
        if user.active:
            return _("%(name)s enabled.", name=user.username)
        return _("%(name)s disabled; its sessions have ended.", name=user.username)

    return _change(user_id, toggle)


@blueprint.post("/users/<int:user_id>/password")
@require_role("admin")
def new_password(user_id: int) -> Any:
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _back(_("The new password and its repetition must be the same."))
    with services().database.session() as db:
        user = _user(db, user_id)
        try:
            set_password(db, user, form.password.data or "")
        except ValueError as error:
            return _back(_("Not changed: %(problem)s.", problem=error))
        record(db, "user.password", user.username)
    return _back(_("New password set for %(name)s; their sessions have ended.", name=user.username))


@blueprint.post("/users/<int:user_id>/unlock")
@require_role("admin")
def unlock(user_id: int) -> Any:
    def clear(db: Session, user: User) -> str:
        throttle.clear(db, throttle.account_key(user.username))
        record(db, "user.unlock", user.username)
        return _("%(name)s unlocked.", name=user.username)

    return _change(user_id, clear)


@blueprint.post("/users/<int:user_id>/signout")
@require_role("admin")
def sign_out(user_id: int) -> Any:
    def end(db: Session, user: User) -> str:
        ended = sessions.end_sessions_of(db, user.id)
        record(db, "user.signout", user.username, sessions=ended)
        return _(
            "%(name)s signed out everywhere (%(count)s sessions).", name=user.username, count=ended
        )

    return _change(user_id, end)


@blueprint.post("/users/<int:user_id>/2fa/reset")
@require_role("admin")
def reset_two_factor(user_id: int) -> Any:
    def reset(db: Session, user: User) -> str:
        user.totp_secret = user.totp_step = None
        sessions.end_sessions_of(db, user.id)
        record(db, "user.2fa_reset", user.username)
        return _("Two-factor sign-in of %(name)s is off; they enrol again.", name=user.username)

    return _change(user_id, reset)
