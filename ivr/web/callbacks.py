"""The callback queue of one local day: overdue ones left from earlier days first, then the
day's overdue, due and done, with who calls (the officer
or a rung of the escalation ladder) and the attempts made; assigning a callback to an officer
of its department; recording what came of it (a resolution is noted on the ticket and texted
to the citizen)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice

from ivr.app_context import current_time, services
from ivr.callbacks.texts import send_resolution
from ivr.email.notices import tell_officer
from ivr.storage.models import Callback, CallbackAttempt, Officer, Ticket, TicketNote
from ivr.web import params
from ivr.web.access import flow, may_see, record, visible, zone
from ivr.web.forms import AssignForm, OutcomeForm

blueprint = Blueprint("callbacks", __name__)
DONE_STATUSES = frozenset({"answered", "missed", "cancelled"})
EARLIER_LIMIT = 200
GROUPS = {
    "earlier": _l("Overdue from earlier days"),
    "overdue": _l("Overdue"),
    "due": _l("Due"),
    "done": _l("Done"),
}


@blueprint.get("/callbacks")
def queue() -> Any:
    local = zone()
    now = current_time()
    day = params.day(request.args, "day") or now.astimezone(local).date()
    start = datetime.combine(day, time(0), local)
    query = (
        select(Callback, Ticket.ref)
        .outerjoin(Ticket, Ticket.id == Callback.ticket_id)
        .where(visible(Callback.department))
    )
    statement = query.where(
        Callback.slot_start >= start, Callback.slot_start < start + timedelta(days=1)
    ).order_by(Callback.slot_start, Callback.id)
    earlier = (
        query.where(
            Callback.slot_start < min(start, now),
            Callback.done_at.is_(None),
            Callback.status.not_in(DONE_STATUSES),
        )
        .order_by(Callback.slot_start, Callback.id)
        .limit(EARLIER_LIMIT)
    )
    groups: dict[str, list[Any]] = {group: [] for group in GROUPS}
    with services().database.session(read_only=True) as session:
        left_over = list(session.execute(earlier))
        rows = list(session.execute(statement))
        officers = {o.id: o for o in session.scalars(select(Officer).where(Officer.active))}
        tries: dict[int, list[CallbackAttempt]] = {}
        for attempt in session.scalars(
            select(CallbackAttempt)
            .where(CallbackAttempt.callback_id.in_([c.id for c, _ in rows + left_over]))
            .order_by(CallbackAttempt.id)
        ):
            tries.setdefault(attempt.callback_id, []).append(attempt)
    for callback, ref in left_over:
        groups["earlier"].append((callback, ref, _assign_form(callback, officers), OutcomeForm()))
    for callback, ref in rows:
        if callback.status in DONE_STATUSES or callback.done_at is not None:
            group = "done"
        elif callback.slot_start < now:
            group = "overdue"
        else:
            group = "due"
        groups[group].append((callback, ref, _assign_form(callback, officers), OutcomeForm()))
    return render_template(
        "callbacks.html",
        day=day,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        groups=groups,
        titles=GROUPS,
        earlier_limit=EARLIER_LIMIT,
        officers=officers,
        tries=tries,
        zone=local,
    )


def _assign_form(callback: Callback, officers: dict[int, Officer]) -> AssignForm:
    form = AssignForm(officer=callback.officer_id)
    form.officer.choices = [
        SelectChoice(o.id, o.name) for o in officers.values() if o.department == callback.department
    ]
    return form


def _visible_callback(session: Session, callback_id: int) -> Callback:
    callback = session.get(Callback, callback_id)
    if callback is None or not may_see(callback.department):
        abort(404)
    return callback


def _back(callback: Callback) -> Any:
    day = callback.slot_start.astimezone(zone()).date()
    return redirect(url_for("callbacks.queue", day=day.isoformat()))


@blueprint.post("/callbacks/<int:callback_id>/assign")
def assign(callback_id: int) -> Any:
    with services().database.session() as session:
        callback = _visible_callback(session, callback_id)
        officers = {
            o.id: o
            for o in session.scalars(
                select(Officer).where(Officer.active, Officer.department == callback.department)
            )
        }
        form = _assign_form(callback, officers)
        if not form.validate_on_submit():
            abort(400)
        callback.officer_id = form.officer.data
        tell_officer(session, flow(), callback, current_time())
        record(session, "callback.assign", str(callback.id), officer=form.officer.data)
    return _back(callback)


@blueprint.post("/callbacks/<int:callback_id>/outcome")
def outcome(callback_id: int) -> Any:
    form = OutcomeForm()
    now = current_time()
    with services().database.session() as session:
        callback = _visible_callback(session, callback_id)
        if not form.validate_on_submit():  # CSRF is checked app-wide before this
            flash(
                _(
                    "Choose what came of the callback (answered, missed or cancelled); "
                    "a resolution is at most 2,000 characters."
                )
            )
            return _back(callback)
        callback.status = callback.outcome = form.outcome.data
        callback.resolution = form.resolution.data or None
        callback.done_at = now
        record(session, "callback.outcome", str(callback.id), outcome=form.outcome.data)
        if callback.resolution and callback.ticket_id is not None:
            body = f"Callback {callback.id} ({callback.outcome}): {callback.resolution}"
            author = f"user:{current_user.username}"
            session.add(
                TicketNote(
                    ticket_id=callback.ticket_id, kind="note", body=body, author=author, at=now
                )
            )
            send_resolution(session, flow(), callback, callback.resolution, now)
    return _back(callback)
