"""The officers admin page (admins only): each officer's department, callback capacity,
whether they take callbacks, and their leave; new officers; and which departments each
officer account of the site may see. Every change is audited; a bad form is flashed back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr.app_context import current_time, services
from ivr.phones import normalize_number
from ivr.storage.accounts import departments_of, link_departments
from ivr.storage.models import Officer, OfficerLeave, User
from ivr.storage.officers import BadLeave, add_leave, add_officer, local_days, officers_with_leave
from ivr.web.access import flow, record, require_role, zone
from ivr.web.forms import (
    AccountDepartmentsForm,
    ActionForm,
    LeaveForm,
    OfficerForm,
    flash_errors,
)

blueprint = Blueprint("officers", __name__)


def _departments() -> list[tuple[str, str]]:
    current = flow()
    language = current.default_language
    return [(code, dept.name.get(language, code)) for code, dept in current.departments.items()]


def _officer_form(officer: Officer | None = None) -> OfficerForm:
    prefix = f"officer-{officer.id}" if officer else "new"
    form = OfficerForm(prefix=prefix, obj=officer)
    if officer is not None and not form.is_submitted():
        form.capacity.data = officer.callback_capacity
    form.department.choices = _departments()
    return form


def _account_form(user: User, departments: list[str]) -> AccountDepartmentsForm:
    form = AccountDepartmentsForm(prefix=f"account-{user.id}")
    form.departments.choices = _departments()
    if not form.is_submitted():
        form.departments.data = departments
    return form


def _back() -> Response:
    return redirect(url_for("officers.page"))


@blueprint.get("/officers")
@require_role("admin")
def page() -> Any:
    local = zone()
    with services().database.session(read_only=True) as session:
        views = officers_with_leave(session, current_time())
        officers = [
            (
                view.officer,
                _officer_form(view.officer),
                LeaveForm(prefix=f"leave-{view.officer.id}"),
                [(leave, *local_days(leave, local)) for leave in view.leaves],
            )
            for view in views
        ]
        accounts = [
            (user, _account_form(user, departments_of(session, user.id)))
            for user in session.scalars(
                select(User).where(User.role == "officer").order_by(User.username)
            )
        ]
    return render_template(
        "officers.html",
        officers=officers,
        accounts=accounts,
        new=_officer_form(),
        remove=ActionForm(),
        names=dict(_departments()),
    )


@blueprint.post("/officers")
@require_role("admin")
def create() -> Response:
    form = _officer_form()
    phone = _phone(form) if form.validate() else False
    if phone is False:
        flash_errors(form)
        return _back()
    with services().database.session() as session:
        officer = add_officer(
            session,
            name=form.name.data or "",
            phone=phone,
            department=form.department.data or "",
            capacity=form.capacity.data or 0,
        )
        record(
            session,
            "officer.add",
            str(officer.id),
            name=officer.name,
            department=officer.department,
        )
    flash(_("Officer %(name)s added.", name=form.name.data))
    return _back()


@blueprint.post("/officers/<int:officer_id>")
@require_role("admin")
def update(officer_id: int) -> Response:
    with services().database.session() as session:
        officer = session.get(Officer, officer_id) or abort(404)
        form = _officer_form(officer)
        phone = _phone(form) if form.validate() else False
        if phone is False:
            flash_errors(form)
            return _back()
        before = _fields(officer)
        officer.name = form.name.data or ""
        officer.phone = phone
        officer.department = form.department.data or ""
        officer.callback_capacity = form.capacity.data or 0
        officer.active = bool(form.active.data)
        changes = {k: [before[k], v] for k, v in _fields(officer).items() if before[k] != v}
        record(session, "officer.update", str(officer.id), **changes)
    flash(_("Officer %(name)s saved.", name=form.name.data))
    return _back()


@blueprint.post("/officers/<int:officer_id>/leave")
@require_role("admin")
def leave(officer_id: int) -> Response:
    form = LeaveForm(prefix=f"leave-{officer_id}")
    if not form.validate():
        flash_errors(form)
        return _back()
    assert form.first.data is not None and form.last.data is not None
    with services().database.session() as session:
        officer = session.get(Officer, officer_id) or abort(404)
        try:
            added = add_leave(session, officer, form.first.data, form.last.data, zone())
        except BadLeave as error:
            flash(str(error))
            return _back()
        record(
            session, "officer.leave.add", str(officer.id), leave=added.id,
            first=form.first.data.isoformat(), last=form.last.data.isoformat(),
        )  # fmt: skip
    flash(
        _(
            "Leave of %(name)s from %(first)s to %(last)s added.",
            name=officer.name,
            first=form.first.data,
            last=form.last.data,
        )
    )
    return _back()


@blueprint.post("/officers/<int:officer_id>/leave/<int:leave_id>/remove")
@require_role("admin")
def remove_leave(officer_id: int, leave_id: int) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    with services().database.session() as session:
        found = session.get(OfficerLeave, leave_id)
        if found is None or found.officer_id != officer_id:
            abort(404)
        first, last = local_days(found, zone())
        session.delete(found)
        record(
            session, "officer.leave.remove", str(officer_id), leave=leave_id,
            first=first.isoformat(), last=last.isoformat(),
        )  # fmt: skip
    flash(_("Leave removed."))
    return _back()


@blueprint.post("/officers/accounts/<int:user_id>")
@require_role("admin")
def account(user_id: int) -> Response:
    with services().database.session() as session:
        user = session.get(User, user_id)
        if user is None or user.role != "officer":
            abort(404)
        form = _account_form(user, [])
        if not form.validate():
            flash_errors(form)
            return _back()
        before = departments_of(session, user.id)
        link_departments(session, user, form.departments.data or [])
        record(
            session, "account.departments", user.username,
            departments=[before, sorted(form.departments.data or [])],
        )  # fmt: skip
        seen = ", ".join(sorted(form.departments.data or [])) or _("nothing")
        flash(_("%(name)s now sees: %(seen)s.", name=user.username, seen=seen))
    return _back()


def _phone(form: OfficerForm) -> str | bool | None:
    """The phone in E.164, None when empty, False (with the form's error) when unusable."""
    raw = (form.phone.data or "").strip()
    if not raw:
        return None
    number = normalize_number(raw, flow().city.country)
    if number is None:
        form.phone.errors = [*form.phone.errors, f"not a phone number: {raw}"]
        return False
    return number


def _fields(officer: Officer) -> dict[str, Any]:
    return {
        "name": officer.name,
        "phone": officer.phone,
        "department": officer.department,
        "capacity": officer.callback_capacity,
        "active": officer.active,
    }
