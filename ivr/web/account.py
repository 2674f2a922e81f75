"""The signed-in user's own account: two-factor sign-in (enrol with a key shown as text,
`otpauth://` URI and QR code) and a new password (which ends every session of the user)."""

from __future__ import annotations

from typing import Any

import segno
from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from markupsafe import Markup

from ivr.app_context import current_time, services
from ivr.storage.accounts import set_password
from ivr.storage.directory import verify_user
from ivr.storage.models import User
from ivr.storage.twofactor import code_step, new_secret, provisioning_uri
from ivr.web.access import record
from ivr.web.forms import ChangePasswordForm, CodeForm

blueprint = Blueprint("account", __name__)
NEW_SECRET = "new_totp_secret"
"""The key of the TOTP key being enrolled, until a code from it confirms it."""


@blueprint.get("/account")
def page() -> Any:
    secret = session.get(NEW_SECRET)
    if not current_user.two_factor and not isinstance(secret, str):
        secret = session[NEW_SECRET] = new_secret()
    uri = provisioning_uri(secret, current_user.username) if secret else None
    qr = Markup(segno.make(uri).svg_inline(scale=4, title="otpauth URI")) if uri else None
    return render_template(
        "account.html",
        secret=None if current_user.two_factor else secret,
        uri=uri,
        qr=qr,
        code_form=CodeForm(),
        password_form=ChangePasswordForm(),
    )


@blueprint.post("/account/2fa")
def enrol() -> Any:
    secret = session.get(NEW_SECRET)
    form = CodeForm()
    now = current_time()
    step = code_step(secret, form.code.data or "", now) if isinstance(secret, str) else None
    if not form.validate_on_submit() or step is None:
        flash(_("That code is not right for the key shown: try the next one."))
        return redirect(url_for("account.page"))
    with services().database.session() as db:
        user = db.get(User, current_user.id)
        assert user is not None  # signed in
        user.totp_secret, user.totp_step = secret, step
        record(db, "user.2fa_enrol", user.username)
    session.pop(NEW_SECRET, None)
    flash(_("Two-factor sign-in is on: sign-ins ask for a code from now on."))
    return redirect(url_for("account.page"))


@blueprint.post("/account/password")
def change_password() -> Any:
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        flash(_("The new password and its repetition must be the same."))
        return redirect(url_for("account.page"))
    with services().database.session() as db:
        if verify_user(db, current_user.username, form.current.data or "") is None:
            flash(_("The current password is not right."))
            return redirect(url_for("account.page"))
        user = db.get(User, current_user.id)
        assert user is not None  # signed in
        try:
            set_password(db, user, form.password.data or "")
        except ValueError as error:
            flash(_("Not changed: %(problem)s.", problem=error))
            return redirect(url_for("account.page"))
        record(db, "user.password", user.username)
    logout_user()
    session.clear()
    flash(_("Password changed; every session of yours has ended: sign in again."))
    return redirect(url_for("auth.login"))
