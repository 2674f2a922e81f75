"""The appointments page: a day's visits per counter with numbers masked, only of the
services a user may see; arrivals marked once; the day as CSV; counters edited by admins
only; every change and export audited; the dashboard's appointment figures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from site_data import Site, token
from sqlalchemy import select

from ivr.storage import appointment_days, appointments
from ivr.storage.models import Appointment, AuditEntry, ServiceCounter

CITIZEN = "+40722555666"


def book(site: Site, caller: str | None = CITIZEN, service: str = "local_taxes") -> Appointment:
    services = site.app.extensions["civicline"]
    with services.database.session() as session:
        booking = appointments.book_first_free(
            session,
            services.flows.current().flow,
            caller=caller,
            service=service,
            language="ro",
            call_id=None,
            at=datetime.now(UTC) + timedelta(days=1),
        )
        assert booking is not None
        session.expunge(booking.appointment)
        return booking.appointment


def day_of(visit: Appointment) -> str:
    return visit.slot_start.astimezone(ZoneInfo("Europe/Bucharest")).date().isoformat()


def audited(site: Site, action: str) -> list[AuditEntry]:
    with site.app.extensions["civicline"].database.session(read_only=True) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_clerk_s_day_marks_and_csv(site, supervisor, officer):
    visit = book(site)
    withheld = book(site, caller=None)  # local taxes: three people a slot, the same slot
    day = day_of(visit)
    page = supervisor.get(f"/appointments?day={day}").get_data(as_text=True)
    assert "ghișeul 1" in page and "local taxes" in page
    assert visit.code in page and withheld.code in page and "withheld" in page
    assert CITIZEN not in page and "666" in page  # masked as elsewhere
    roads_only = officer.get(f"/appointments?day={day}").get_data(as_text=True)
    assert visit.code not in roads_only  # local taxes is not a department of theirs
    assert supervisor.get("/appointments?day=2026-13-01").status_code == 400

    form = {"csrf_token": token(supervisor, f"/appointments?day={day}")}
    assert supervisor.post(f"/appointments/{visit.id}/no_show", data=form).status_code == 302
    supervisor.post(f"/appointments/{visit.id}/arrived", data=form)  # marked once only
    assert supervisor.post(f"/appointments/{visit.id}/gone", data=form).status_code == 404
    with site.app.extensions["civicline"].database.session(read_only=True) as session:
        assert session.get_one(Appointment, visit.id).status == "no_show"
    [entry] = audited(site, "appointment.mark")
    assert entry.target == str(visit.id) and entry.details == {"status": "no_show"}

    reply = supervisor.get(f"/appointments.csv?day={day}")
    rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True))))
    assert rows[0] == ["slot", "counter", "service", "code", "caller", "status"]
    [row] = [r for r in rows[1:] if r[3] == visit.code]
    assert row[1:3] == ["ghișeul 1", "local_taxes"] and row[5] == "no_show"
    assert CITIZEN not in row[4] and row[4].endswith("666")
    assert [e.target for e in audited(site, "appointments.export")] == [day]


def test_only_admins_change_a_counter_and_a_formula_in_its_name_stays_text(site, admin, supervisor):
    form = {
        "counter-local_taxes-counter": "=HYPERLINK(1)",
        "counter-local_taxes-slot_minutes": "30",
        "counter-local_taxes-capacity": "2",
    }
    url = "/appointments/counters/local_taxes"
    supervisor_form = {**form, "csrf_token": token(supervisor, "/appointments")}
    assert supervisor.post(url, data=supervisor_form).status_code == 403
    admin_form = {**form, "csrf_token": token(admin, "/appointments")}
    assert admin.post(url, data=admin_form).status_code == 302
    admin.post(url, data={**admin_form, "counter-local_taxes-capacity": "0"})  # refused
    with site.app.extensions["civicline"].database.session(read_only=True) as session:
        counter = session.get_one(ServiceCounter, "local_taxes")
        assert (counter.counter, counter.slot_minutes, counter.capacity) == ("=HYPERLINK(1)", 30, 2)
    [entry] = audited(site, "appointment.counter")
    assert entry.details == {"before": ["ghișeul 1", 15, 3], "after": ["=HYPERLINK(1)", 30, 2]}
    visit = book(site)
    assert visit.counter == "=HYPERLINK(1)"
    exported = supervisor.get(f"/appointments.csv?day={day_of(visit)}").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in exported


def test_the_dashboard_shows_no_shows_and_each_service_s_first_free_slot(site, supervisor, officer):
    services = site.app.extensions["civicline"]
    flow = services.flows.current().flow
    with services.database.session() as session:
        for caller, status in (("+40722000001", "arrived"), ("+40722000002", "no_show")):
            booking = appointments.book_first_free(
                session, flow, caller=caller, service="local_taxes", language="ro",
                call_id=None, at=datetime.now(UTC) - timedelta(days=6),
            )  # fmt: skip
            assert booking is not None
            appointment_days.mark(booking.appointment, status, datetime.now(UTC), "clerk")
    page = supervisor.get("/?days=7").get_data(as_text=True)
    assert 'id="visits-arrived">1<' in page and 'id="visits-no-shows">1 (50 %)<' in page
    first_free = page[page.index('id="first-free"') :]
    for name in ("urbanism certificate", "local taxes", "civil status"):
        assert f'<th scope="row">{name}</th>' in first_free
    roads_only = officer.get("/?days=7").get_data(as_text=True)
    assert 'id="visits-no-shows">0<' in roads_only  # local taxes is not theirs
