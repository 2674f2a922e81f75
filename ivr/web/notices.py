"""The announcements and closures page (supervisors and admins): what callers hear before a
menu during some dates, and the days a department (or every one) is closed. Both take effect
for the next call without editing the flow, and so does withdrawing an announcement (the
water is back on before Friday) or removing a closure; each change is audited. An
announcement's audio is rendered when it is saved, so no caller waits for synthesis."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr.announcement_audio import render_announcements
from ivr.app_context import current_time, prompts, services
from ivr.storage.models import Announcement, OfficeClosure
from ivr.storage.notices import (
    add_announcement,
    add_closure,
    remove_closure,
    withdraw_announcement,
)
from ivr.web.access import flow, record, require_role, zone
from ivr.web.forms import (
    ActionForm,
    AnnouncementForm,
    ClosureForm,
    announcement_form,
    flash_errors,
)
from ivr.web.names import department_name
from speech.synthesis import SynthesisError

log = logging.getLogger(__name__)
blueprint = Blueprint("notices", __name__)
ALL = ""
"""The closure form's department for every department."""


def _languages() -> dict[str, str]:
    return {code: language.name for code, language in flow().languages.items()}


def _departments() -> list[tuple[str, str]]:
    names = [(code, department_name(code)) for code in flow().departments]
    return [(ALL, _("every department")), *names]


def _closure_form() -> ClosureForm:
    form = ClosureForm(prefix="closure")
    form.department.choices = _departments()
    return form


def _back() -> Response:
    return redirect(url_for("notices.page"))


def _texts(form: AnnouncementForm) -> dict[str, str]:
    """Each language's text, its spacing tidied as the line says it."""
    return {code: " ".join(getattr(form, f"text_{code}").data.split()) for code in _languages()}


@blueprint.get("/notices")
@require_role("admin", "supervisor")
def page() -> Any:
    today = current_time().astimezone(zone()).date()
    with services().database.session(read_only=True) as session:
        announcements = list(
            session.scalars(
                select(Announcement).where(Announcement.ends >= today).order_by(Announcement.starts)
            )
        )
        closures = list(
            session.scalars(
                select(OfficeClosure)
                .where(OfficeClosure.day >= today)
                .order_by(OfficeClosure.day, OfficeClosure.id)
            )
        )
    return render_template(
        "notices.html",
        announcements=announcements,
        closures=closures,
        new_announcement=announcement_form(_languages()),
        new_closure=_closure_form(),
        act=ActionForm(),
        languages=_languages(),
        today=today,
    )


@blueprint.post("/notices/announcements")
@require_role("admin", "supervisor")
def create_announcement() -> Response:
    form = announcement_form(_languages())
    if not form.validate():
        flash_errors(form)
        return _back()
    if form.ends.data < form.starts.data:
        flash(_("An announcement cannot end before it starts."))
        return _back()
    texts = _texts(form)
    with services().database.session() as session:
        row = add_announcement(
            session,
            texts=texts,
            starts=form.starts.data,
            ends=form.ends.data,
            placement=form.placement.data,
            actor=_actor(),
            at=current_time(),
        )
        announcement_id = row.id
        record(
            session,
            "announcement.add",
            str(row.id),
            starts=row.starts.isoformat(),
            ends=row.ends.isoformat(),
            placement=row.placement,
            texts=texts,
        )
    try:
        render_announcements(prompts().root, [(announcement_id, texts)])
    except SynthesisError as error:
        log.error("announcement %s: audio not rendered: %s", announcement_id, error)
        flash(_("Saved, but its audio could not be rendered: run `ivr prompts build`."))
        return _back()
    flash(_("Announcement added."))
    return _back()


@blueprint.post("/notices/closures")
@require_role("admin", "supervisor")
def create_closure() -> Response:
    form = _closure_form()
    if not form.validate():
        flash_errors(form)
        return _back()
    department = form.department.data or None
    with services().database.session() as session:
        row = add_closure(
            session,
            day=form.day.data,
            department=department,
            reason=" ".join(form.reason.data.split()),
            actor=_actor(),
            at=current_time(),
        )
        record(
            session,
            "closure.add",
            str(row.id),
            day=row.day.isoformat(),
            department=department,
            reason=row.reason,
        )
    flash(_("Closure added."))
    return _back()


@blueprint.post("/notices/announcements/<int:announcement_id>/withdraw")
@require_role("admin", "supervisor")
def withdraw(announcement_id: int) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    with services().database.session() as session:
        row = withdraw_announcement(session, announcement_id, actor=_actor(), at=current_time())
        if row is None:
            abort(404)
        record(session, "announcement.withdraw", str(row.id), heard=row.heard, skipped=row.skipped)
    flash(_("Announcement withdrawn: the next call does not hear it."))
    return _back()


@blueprint.post("/notices/closures/<int:closure_id>/remove")
@require_role("admin", "supervisor")
def remove(closure_id: int) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    with services().database.session() as session:
        row = remove_closure(session, closure_id)
        if row is None:
            abort(404)
        record(session, "closure.remove", str(row.id), day=row.day.isoformat(),
               department=row.department, reason=row.reason)  # fmt: skip
    flash(_("Closure removed: the day is open again."))
    return _back()


def _actor() -> str:
    return str(current_user.username)
