"""Appointments at the counters: one local day's visits per counter (who, masked as
everywhere; when; which service; the code), marked arrived or no-show by the clerk; the day
as CSV; and, for admins, each service's counter and capacity per slot. Every change and every
export is audited; a user sees the services of the departments they may see."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ivr.app_context import current_time, services
from ivr.storage import appointment_days, appointments
from ivr.storage.models import Appointment
from ivr.web import params
from ivr.web.access import flow, may_see, record, require_role, zone
from ivr.web.export import csv_download
from ivr.web.forms import ActionForm, CounterForm, flash_errors

blueprint = Blueprint("appointments", __name__)


def _day() -> date:
    return params.day(request.args, "day") or current_time().astimezone(zone()).date()


def _visible(visit: Appointment) -> bool:
    service = flow().services.get(visit.service)
    return may_see(service.department if service else None)


@dataclass(frozen=True)
class Figures:
    """The dashboard's appointment figures: visits of the days shown by status, and for
    each service the user may see, when its first free slot is (how long a citizen waits)."""

    statuses: Counter[str]
    first_free: list[tuple[str, datetime | None]]

    @property
    def no_show_share(self) -> float | None:
        seen = self.statuses["arrived"] + self.statuses["no_show"]
        return self.statuses["no_show"] / seen if seen else None


def figures(first: date, last: date) -> Figures:
    current, now = flow(), current_time()
    shown = [code for code, s in current.services.items() if may_see(s.department)]
    start = datetime.combine(first, time(0), zone())
    end = datetime.combine(last + timedelta(days=1), time(0), zone())
    with services().database.session() as session:  # a new service's counter is seeded
        statuses = appointment_days.statuses_between(session, start, end, shown)
        free = [(code, appointments.free_slots(session, current, code, now)) for code in shown]
    return Figures(statuses, [(code, slots[0] if slots else None) for code, slots in free])


def _visits(day: date) -> list[Appointment]:
    start = datetime.combine(day, time(0), zone())
    with services().database.session(read_only=True) as session:
        found = appointment_days.visits_between(session, start, start + timedelta(days=1))
        session.expunge_all()
    return [visit for visit in found if _visible(visit)]


@blueprint.get("/appointments")
def day_view() -> Any:
    day = _day()
    visits = _visits(day)
    counters = [(name, list(rows)) for name, rows in groupby(visits, key=lambda v: v.counter)]
    return render_template(
        "appointments.html",
        day=day,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        counters=counters,
        totals=Counter(v.status for v in visits),
        act=ActionForm(),
        settings=_counter_forms() if current_user.role == "admin" else [],
        zone=zone(),
    )


@blueprint.post("/appointments/<int:appointment_id>/<any(arrived, no_show):status>")
def mark(appointment_id: int, status: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    with services().database.session() as session:
        visit = session.get(Appointment, appointment_id)
        if visit is None or not _visible(visit):
            abort(404)
        day = visit.slot_start.astimezone(zone()).date()
        if appointment_days.mark(visit, status, current_time(), current_user.username):
            record(session, "appointment.mark", str(visit.id), status=status)
        else:
            flash(_("That appointment was marked or cancelled already."))
    return redirect(url_for("appointments.day_view", day=day.isoformat()))


@blueprint.get("/appointments.csv")
def export() -> Any:
    day = _day()
    with services().database.session() as session:
        record(session, "appointments.export", day.isoformat())
    local = zone()

    def rows() -> Iterator[list[str]]:
        for visit in _visits(day):
            when = visit.slot_start.astimezone(local).isoformat()
            yield [when, visit.counter, visit.service, visit.code, visit.caller or "", visit.status]

    header = ["slot", "counter", "service", "code", "caller", "status"]
    return csv_download(f"appointments-{day.isoformat()}.csv", header, rows)


def _counter_forms() -> list[tuple[str, CounterForm]]:
    """Each service of the flow with its counter's form (seeded from the flow if new)."""
    forms = []
    with services().database.session() as session:
        for service in flow().services:
            counter = appointments.counter_of(session, flow(), service, current_time())
            form = CounterForm(prefix=f"counter-{service}", obj=counter)
            forms.append((service, form))
    return forms


@blueprint.post("/appointments/counters/<service>")
@require_role("admin")
def update_counter(service: str) -> Response:
    if service not in flow().services:
        abort(404)
    form = CounterForm(prefix=f"counter-{service}")
    if not form.validate():
        flash_errors(form)
        return redirect(url_for("appointments.day_view"))
    with services().database.session() as session:
        counter = appointments.counter_of(session, flow(), service, current_time())
        before = (counter.counter, counter.slot_minutes, counter.capacity)
        counter.counter = form.counter.data or counter.counter
        counter.slot_minutes = int(form.slot_minutes.data or counter.slot_minutes)
        counter.capacity = form.capacity.data or counter.capacity
        counter.updated_at = current_time()
        after = (counter.counter, counter.slot_minutes, counter.capacity)
        record(session, "appointment.counter", service, before=list(before), after=list(after))
    flash(_("Counter of %(service)s saved.", service=service))
    return redirect(url_for("appointments.day_view"))
