"""The supervisor site's pages and actions through the Flask test client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from site_data import STARTED, XSS, token, wav
from sqlalchemy import select

from ivr.storage import calls
from ivr.storage.models import AuditEntry, Callback, SmsOutbox, Ticket, TicketNote


def _body(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    text = response.get_data(as_text=True)
    response.close()
    return text


def _database(site):
    return site.app.extensions["civicline"].database


def test_the_call_log_filters(site, supervisor):
    both = _body(supervisor, "/calls")
    assert site.roads_call in both and site.taxes_call in both
    only_taxes = _body(supervisor, "/calls?department=taxes")
    assert site.taxes_call in only_taxes and site.roads_call not in only_taxes
    assert site.roads_call not in _body(supervisor, "/calls?outcome=transferred")
    assert site.roads_call in _body(supervisor, "/calls?language=en&has_ticket=yes")
    assert site.roads_call not in _body(supervisor, "/calls?has_ticket=no")
    assert site.roads_call in _body(supervisor, "/calls?caller=0722111222")
    day = STARTED.date()
    assert site.roads_call not in _body(supervisor, f"/calls?end={day - timedelta(days=2)}")
    assert site.roads_call in _body(supervisor, f"/calls?start={day - timedelta(days=1)}")


def test_the_call_log_pages_by_started_at_and_id(site, supervisor):
    database = _database(site)
    version = site.app.extensions["civicline"].flows.current().version
    with database.session() as session:
        for n in range(60):
            calls.start_call(
                session,
                call_id=f"page-{n:03d}",
                caller=None,
                channel="terminal",
                flow_version=version,
                language="ro",
                at=STARTED - timedelta(days=1, minutes=n),
            )
    first = _body(supervisor, "/calls")
    assert "page-000" in first and "page-059" not in first
    cursor = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = _body(supervisor, cursor)
    assert "page-059" in second and "page-000" not in second and 'rel="next"' not in second


def test_the_call_detail_shows_timeline_turns_route_and_recording(site, supervisor):
    page = _body(supervisor, f"/calls/{site.roads_call}")
    assert "Main → Report category" in page  # nodes in words, never main → report_category
    assert "Not understood" in page and "Chose: on to report category" in page
    assert "0.42" in page and "keys <code>7</code>" in page
    assert "250 ms" in page
    assert site.roads_ref in page and "booked" in page
    assert f"/calls/{site.roads_call}/recordings/{site.recording_id}" in page
    audio = supervisor.get(f"/calls/{site.roads_call}/recordings/{site.recording_id}")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert audio.data == wav()
    audio.close()
    with _database(site).session() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "recording.play" in actions
    assert supervisor.get(f"/calls/{site.roads_call}/recordings/nope").status_code == 404
    assert supervisor.get("/calls/nope").status_code == 404


def test_changing_a_status_tells_the_caller_by_sms(site, supervisor):
    path = f"/tickets/{site.roads_ref}"
    reply = supervisor.post(
        f"{path}/status",
        data={"status": "in_progress", "note": "crew sent", "csrf_token": token(supervisor, path)},
    )
    assert reply.status_code == 302
    page = _body(supervisor, path)
    assert "in_progress" in page and "crew sent" in page
    assert f"report {site.roads_ref} is now in progress." in page
    with _database(site).session() as session:
        [sms] = session.scalars(
            select(SmsOutbox).where(SmsOutbox.template == "sms_status_changed")
        ).all()
        assert sms.to == "+40722111222" and sms.status == "queued"
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "ticket.status")
        ).one()
        assert entry.actor == "super" and entry.details["after"] == "in_progress"


def test_closing_a_ticket_counts_on_the_dashboard(site, supervisor):
    path = f"/tickets/{site.roads_ref}"
    supervisor.post(
        f"{path}/status", data={"status": "resolved", "csrf_token": token(supervisor, path)}
    )
    page = _body(supervisor, "/")
    assert "Tickets opened and closed" in page and "<svg" in page
    assert 'id="handled">2<' in page
    assert "src=" not in page and "kozea.github.io" not in page  # no CDN script


def test_replies_notes_reassignment_and_escalation(site, supervisor):
    path = f"/tickets/{site.roads_ref}"
    csrf = token(supervisor, path)
    supervisor.post(f"{path}/reply", data={"reply": "scheduled", "csrf_token": csrf})
    supervisor.post(f"{path}/notes", data={"body": "<b>call the school</b>", "csrf_token": csrf})
    supervisor.post(f"{path}/escalate", data={"csrf_token": csrf, "level": "0"})
    supervisor.post(f"{path}/department", data={"department": "lighting", "csrf_token": csrf})
    page = _body(supervisor, path)
    assert f"the work for report {site.roads_ref} is scheduled" in page
    assert "&lt;b&gt;call the school&lt;/b&gt;" in page
    assert "the head of service" in page and "Street lighting" in page  # the flow's names
    with _database(site).session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ref == site.roads_ref)).one()
        assert ticket.escalation_level == 1 and ticket.department == "lighting"
        kinds = sorted(n.kind for n in session.scalars(select(TicketNote)))
        assert kinds == ["note", "reply"]


def test_an_officer_who_reassigns_away_loses_the_ticket(site, officer):
    path = f"/tickets/{site.roads_ref}"
    reply = officer.post(
        f"{path}/department", data={"department": "taxes", "csrf_token": token(officer, path)}
    )
    assert reply.headers["Location"] == "/tickets"
    assert officer.get(path).status_code == 404


def test_the_ticket_list_filters_and_exports(site, supervisor):
    assert site.taxes_ref not in _body(supervisor, "/tickets?department=roads")
    assert site.roads_ref in _body(supervisor, "/tickets?status=registered&category=pothole")
    csv = _body(supervisor, "/tickets.csv?department=taxes")
    assert csv.startswith("ref,created,status") and site.taxes_ref in csv
    assert site.roads_ref not in csv
    calls_csv = _body(supervisor, "/calls.csv?department=roads")
    assert site.roads_call in calls_csv and site.taxes_call not in calls_csv


def test_an_export_with_no_rows_still_has_its_header(site, supervisor):
    assert _body(supervisor, "/tickets.csv?ref=26-999999").startswith("ref,created,status")
    assert _body(supervisor, "/calls.csv?start=2001-01-01&end=2001-01-02").startswith(
        "call,started,ended"
    )


def test_callbacks_assign_and_record_the_outcome(site, supervisor):
    slot = datetime.now(UTC) + timedelta(minutes=30)
    path = f"/callbacks?day={slot.astimezone(ZoneInfo('Europe/Bucharest')).date()}"
    page = _body(supervisor, path)
    assert "Due (1)" in page and "unassigned" in page
    csrf = token(supervisor, path)
    supervisor.post(
        f"/callbacks/{site.callback_id}/assign", data={"officer": "1", "csrf_token": csrf}
    )
    assert "Ana Pop" in _body(supervisor, path)
    outcome = _body(supervisor, path).split('name="outcome"')[1].split("</select>")[0]
    assert '<option value="">Choose…</option>' in outcome and "selected" not in outcome
    unchosen = supervisor.post(
        f"/callbacks/{site.callback_id}/outcome",
        data={"outcome": "", "resolution": "fixed", "csrf_token": csrf},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Choose what came of the callback" in unchosen and "Done (0)" in unchosen
    supervisor.post(
        f"/callbacks/{site.callback_id}/outcome",
        data={"outcome": "answered", "resolution": "fixed", "csrf_token": csrf},
    )
    page = _body(supervisor, path)
    assert "Done (1)" in page and "Answered fixed" in page


def test_callbacks_left_from_earlier_days_come_first(site, supervisor):
    with _database(site).session() as session:
        for days, status in ((3, "booked"), (2, "placed"), (1, "answered")):
            at = datetime.now(UTC) - timedelta(days=days)
            session.add(
                Callback(
                    caller=f"+4072200000{days}", department="roads", slot_start=at,
                    status=status, language="ro", created_at=at,
                )
            )  # fmt: skip
    page = _body(supervisor, "/callbacks")
    assert "Overdue from earlier days (2)" in page
    earlier = page.split('id="callbacks-earlier"')[1].split("</table>")[0]
    assert earlier.index("+40 722 *** 003") < earlier.index("+40 722 *** 002")
    assert page.index("Overdue from earlier days") < page.index("Due (")


def test_the_audit_log_lists_supervisor_actions(site, supervisor, admin):
    path = f"/tickets/{site.roads_ref}"
    supervisor.post(f"{path}/notes", data={"body": "n", "csrf_token": token(supervisor, path)})
    page = _body(admin, "/audit?actor=super")
    assert "ticket.note" in page and site.roads_ref in page and "login" in page


def test_live_calls_page_and_stream(site, supervisor):
    page = _body(supervisor, "/live")
    assert 'src="/static/live.js"' in page and "<td>Main</td>" in page  # the node in words
    assert "EventSource" in _body(supervisor, "/static/live.js")
    stream = _body(supervisor, "/live/stream?once=1")
    assert stream.startswith("data: [") and '"node": "Main"' in stream


def test_a_ticket_shows_only_the_category_and_district_it_has(site, supervisor):
    report = _body(supervisor, f"/tickets/{site.roads_ref}")
    assert "<td>Report: pothole, district 2</td>" in report
    message = _body(supervisor, f"/tickets/{site.taxes_ref}")
    assert "<td>Message</td>" in message


def test_a_ticket_shows_its_transcript_or_why_there_is_none(site, supervisor):
    assert "waiting for the recording to be transcribed" in _body(
        supervisor, f"/tickets/{site.roads_ref}"
    )
    assert '<td id="transcript"></td>' in _body(supervisor, f"/tickets/{site.taxes_ref}")
    with _database(site).session() as session:
        by_ref = {t.ref: t for t in session.scalars(select(Ticket))}
        by_ref[site.roads_ref].transcript = {"text": f"deep hole {XSS}", "confidence": 0.874}
        by_ref[site.taxes_ref].transcript = {"note": "not transcribed: no model", "language": "ro"}
    transcribed = _body(supervisor, f"/tickets/{site.roads_ref}")
    assert "deep hole &lt;script&gt;alert(" in transcribed and XSS not in transcribed
    assert "(confidence 87 %)" in transcribed
    assert "not transcribed: no model" in _body(supervisor, f"/tickets/{site.taxes_ref}")


def test_a_citizens_note_emptied_by_the_retention_purge_says_so(site, supervisor):
    with _database(site).session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ref == site.taxes_ref)).one()
        session.add(
            TicketNote(
                ticket_id=ticket.id,
                kind="note",
                body="",
                author="citizen",
                source="sms",
                at=ticket.created_at,
            )
        )
    notes = _body(supervisor, f"/tickets/{site.taxes_ref}").split('id="notes"')[1]
    assert "removed after the retention period" in notes.split("</table>")[0]
