"""The privacy pages (admins only): what is held about a phone number, its export as a zip,
and its erasure after a confirmation, on the site as `ivr privacy export|erase` does it.

A number is typed in any format (`0722 111 222`, `+40722111222`, `0040722111222`) and sent
only in POST bodies, never in a URL (which proxies and access logs keep). Looking a number
up, exporting and erasing are audited with the number masked (`ivr.privacy`). Erasing
needs the number typed again; a number with open tickets also needs the "force" box, whose
label says what it costs.
"""

from __future__ import annotations

import tempfile
from typing import Any

from flask import Blueprint, abort, render_template, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from ivr.app_context import current_time, recordings, services
from ivr.privacy.erase import OpenTickets, erase
from ivr.privacy.export import export
from ivr.privacy.holdings import find
from ivr.privacy.subject import BadNumber, Subject, subject
from ivr.web.access import flow, record, require_role

blueprint = Blueprint("privacy", __name__)
FORCE_LABEL = _l(
    "Also erase while tickets are open: they stay open, anonymised, and nobody can call or "
    "text the caller back about them"
)


class NumberForm(FlaskForm):
    number = StringField(_l("Phone number"), validators=[DataRequired(), Length(max=40)])


class EraseForm(NumberForm):
    confirm = StringField(_l("Type the number again"), validators=[DataRequired(), Length(max=40)])
    force = BooleanField(FORCE_LABEL)


@blueprint.get("/privacy")
@require_role("admin")
def page() -> Any:
    return render_template("privacy.html", form=NumberForm(), person=None)


@blueprint.post("/privacy")
@require_role("admin")
def lookup() -> Any:
    return _summary(_submitted(NumberForm()), audited=True)


@blueprint.post("/privacy/export")
@require_role("admin")
def download() -> Any:
    person = _submitted(NumberForm())
    archive = tempfile.TemporaryFile()  # noqa: SIM115  # the response closes it once sent
    export(
        services().database, person, recordings().files, archive, actor=_actor(), at=current_time()
    )
    archive.seek(0)
    name = f"privacy-export-{person.e164.lstrip('+')}.zip"
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name=name)


@blueprint.post("/privacy/erase")
@require_role("admin")
def erase_number() -> Any:
    form = EraseForm()
    person = _submitted(form)
    if _same(form.confirm.data) != person.e164:
        return _summary(person, error=_("The number typed again differs: nothing was erased."))
    try:
        done = erase(
            services().database,
            person,
            recordings().files,
            actor=_actor(),
            at=current_time(),
            force=bool(form.force.data),
        )
    except OpenTickets as error:
        refs = ", ".join(error.refs)
        return _summary(
            person, error=_("Nothing was erased: open tickets %(refs)s; see below.", refs=refs)
        )
    return render_template("privacy_erased.html", done=done, person=person)


@blueprint.errorhandler(BadNumber)
def _bad_number(error: BadNumber) -> Any:
    return render_template("privacy.html", form=NumberForm(), person=None, error=str(error)), 400


def _submitted(form: NumberForm) -> Subject:
    """The person a valid form names (400 for a form without its CSRF token or number)."""
    if not form.validate_on_submit():
        abort(400)
    return _person(form.number.data)


def _summary(person: Subject, *, audited: bool = False, error: str | None = None) -> Any:
    """The page with what is held about `person` and the forms to export or erase it."""
    with services().database.session() as session:
        held = find(session, person)
        if audited:
            record(session, "privacy.lookup", person.masked, rows=held.counts())
    return render_template(
        "privacy.html",
        form=NumberForm(formdata=None),
        person=person,
        counts=held.counts(),
        open_tickets=held.open_tickets,
        export_form=NumberForm(formdata=None, number=person.e164),
        erase_form=EraseForm(formdata=None, number=person.e164),
        error=error,
    ), (400 if error else 200)


def _person(raw: str | None) -> Subject:
    return subject(raw or "", flow().city.country)


def _same(raw: str | None) -> str | None:
    """The number typed again, as E.164 (None when it is no number)."""
    try:
        return _person(raw).e164
    except BadNumber:
        return None


def _actor() -> str:
    return str(current_user.username)
