"""Open311 GeoReport v2 against a running `ivr serve` (one per module, `city`): read with
the `georeport` client from PyPI (0.3.1 has no POST, so reports are POSTed with plain
`requests`), in XML and JSON; the spec's example requests; errors in the spec's format;
and the push of a second civicline's phone reports to this one as the city's endpoint
(in-process worker, real HTTP, two databases)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from georeport import GeoReport
from open311_city import City, free_port, ivr
from site_data import XSS, build_site, login, token
from sqlalchemy import func, select

from ivr.bootstrap import job_give_ups, open311_pusher
from ivr.clock import utc_now
from ivr.jobs import Lane, Worker
from ivr.open311.client import GeoReportClient
from ivr.open311.push import POLL_JOB, PUSH_JOB, Pusher, schedule_poll
from ivr.storage import calls
from ivr.storage.db import Database
from ivr.storage.models import Job, Open311Push, Open311Report, SmsOutbox, Ticket
from ivr.storage.queue import enqueue
from ivr.storage.tickets import create_ticket, find_ticket, new_pin

TIMEOUT = 10

POLL_EVERY = timedelta(minutes=5)
"""The push tests' poll period (the settings' default)."""


def post(city: City, fmt: str, **fields: str) -> requests.Response:
    return requests.post(f"{city.base}/requests.{fmt}", data=fields, timeout=TIMEOUT)


def get(city: City, path: str, **params: str) -> requests.Response:
    return requests.get(f"{city.base}/{path}", params=params, timeout=TIMEOUT)


def filed(answer: requests.Response, fmt: str) -> dict[str, Any]:
    """The one request of a POST's answer, from either format."""
    assert answer.status_code == 200, answer.text
    if fmt == "json":
        return dict(answer.json()[0])
    root = ET.fromstring(answer.content)
    assert root.tag == "service_requests"
    return {child.tag: child.text for child in root.find("request")}  # type: ignore[union-attr]


def errors(answer: requests.Response) -> list[tuple[int, str]]:
    """The spec's error list of a refusal, from either format."""
    if answer.headers["Content-Type"].startswith("application/json"):
        return [(error["code"], error["description"]) for error in answer.json()]
    root = ET.fromstring(answer.content)
    assert root.tag == "errors"
    return [(int(e.findtext("code") or 0), e.findtext("description") or "") for e in root]


def database(city: City) -> Any:
    return city.site.app.extensions["civicline"].database


def test_services_and_their_definitions_through_a_georeport_client(city: City) -> None:
    flow = city.site.app.extensions["civicline"].flows.current().flow
    for fmt in ("xml", "json"):
        client = GeoReport(city.base, output_format=fmt)
        services = client.get_service_list()
        assert [service["service_code"] for service in services] == list(flow.categories)
        assert services[0]["service_name"] == "groapă în carosabil"  # the flow's default
        assert services[0]["group"] == "Drumuri și infrastructură"
        attributes = client.get_service_definition("pothole")["attributes"]
        rows = attributes["attribute"] if fmt == "xml" else attributes
        assert [row["code"] for row in rows] == ["district", "description", "publish_description"]
    english = get(city, "services.json", locale="en_GB").json()
    assert english[0]["service_name"] == "pothole"
    assert errors(get(city, "services.xml", locale="de")) == [
        (400, "locale 'de' is not served; use one of: ro, en")
    ]


def test_a_posted_report_is_filed_texted_heard_by_pin_shown_and_followed(city: City) -> None:
    consented = filed(post(
        city, "xml", api_key=city.key, service_code="pothole", description="deep hole",
        phone="0722 555 666", **{"attribute[district]": "3",
                                  "attribute[publish_description]": "true"},
    ), "xml")  # fmt: skip
    private = dict(api_key=city.key, service_code="street_light", description="my words",
                   lat="44.43", long="26.10", **{"attribute[external_id]": "app-1"})  # fmt: skip
    first = filed(post(city, "json", **private), "json")
    again = filed(post(city, "json", **private), "json")
    assert consented["pin"] and consented["pin"].isdecimal()
    assert first["pin"] and again["pin"] is None  # the PIN is given once
    assert (again["service_request_id"], again["token"]) == (
        first["service_request_id"],
        first["token"],
    )
    ref, other = consented["service_request_id"], first["service_request_id"]
    with database(city).session() as session:
        ticket = find_ticket(session, ref)
        assert ticket is not None and ticket.caller == "+40722555666" and ticket.district == 3
        texts = session.scalars(select(SmsOutbox.template).where(SmsOutbox.ticket_id == ticket.id))
        assert list(texts) == ["sms_ticket"]
        reports = select(func.count()).select_from(Open311Report)
        assert session.scalar(reports.where(Open311Report.external_id == "app-1")) == 1
    heard = ivr(city.site.settings, "call", "--from", "+40799000111", "--lang", "en", "--json",
                "--input", "2", "--input", f"keys:{ref.replace('-', '')}#",
                "--input", f"keys:{consented['pin']}")  # fmt: skip
    said = [json.loads(line).get("text") for line in heard.splitlines()]
    digits = ", ".join(" ".join(part) for part in ref.split("-"))
    assert f"Report {digits} is registered." in " ".join(filter(None, said))
    page = city.admin.get(f"/tickets/{ref}").get_data(as_text=True)  # the supervisor site
    assert "pusher" in page and "deep hole" in page

    for fmt in ("xml", "json"):
        listed = {row["service_request_id"]: row for row in
                  GeoReport(city.base, output_format=fmt).get_service_requests()}  # fmt: skip
        assert listed[ref]["description"] == "deep hole"
        assert not listed[other]["description"]  # no consent: not published
        assert not listed[city.site.roads_ref]["description"]  # a phone report never asked
        assert listed[ref]["status"] == "open"
        assert listed[ref]["interface_used"] == "open311"
        assert listed[city.site.roads_ref]["interface_used"] == "phone"
        assert listed[other]["lat"] in ("44.43", 44.43)
    raw = get(city, "requests.xml").text + get(city, "requests.json").text
    for personal in ("722555666", "722111222", "<pin>", '"pin"', XSS, "hole <script"):
        assert personal not in raw
    assert get(city, f"tokens/{first['token']}.json").json() == [
        {"service_request_id": other, "token": first["token"]}
    ]

    csrf = token(city.admin, f"/tickets/{ref}")
    changed = city.admin.post(
        f"/tickets/{ref}/status",
        data={"csrf_token": csrf, "status": "resolved", "note": "crew 7 called Ion at home"},
    )
    assert changed.status_code == 302
    one = GeoReport(city.base, output_format="json").get_service_request(ref)
    assert one["status"] == "closed" and one["status_notes"] == "rezolvată"
    assert one["agency_responsible"] == "Drumuri și infrastructură"
    english = get(city, f"requests/{ref}.xml", locale="en")
    assert "<status_notes>resolved</status_notes>" in english.text and "Ion" not in english.text
    closed = [
        row["service_request_id"] for row in get(city, "requests.json", status="closed").json()
    ]
    assert ref in closed and other not in closed
    with database(city).session() as session:
        ticket = find_ticket(session, ref)
        assert ticket is not None
        texts = session.scalars(select(SmsOutbox.template).where(SmsOutbox.ticket_id == ticket.id))
        assert sorted(texts) == ["sms_status_changed", "sms_ticket"]
        changed_at = ticket.history[-1].at.replace(microsecond=0)
        assert datetime.fromisoformat(one["updated_datetime"]) == changed_at


SPEC_POST = (
    "api_key={key}&jurisdiction_id=city.gov&service_code=pothole&lat=37.76524078"
    "&long=-122.4212043&address_string=1234+5th+street&email=smit222%40sfgov.edu"
    "&device_id=tt222111&account_id=123456&first_name=john&last_name=smith&phone=111111111"
    "&description=A+large+sinkhole+is+destroying+the+street"
    "&media_url=http%3A%2F%2Fexample.org%2Fhole.jpg&attribute[WHISPE]=order_sandwich"
)


def test_the_spec_s_example_requests(city: City) -> None:
    """The example requests of the GeoReport v2 page, with one of our service codes."""
    services = get(city, "services.xml", jurisdiction_id="city.gov")
    assert ET.fromstring(services.content).tag == "services"
    window = get(city, "requests.xml", start_date="2010-05-24T00:00:00Z",
                 end_date="2010-06-24T00:00:00Z", status="open")  # fmt: skip
    assert window.status_code == 200 and len(ET.fromstring(window.content)) == 0
    answer = requests.post(
        f"{city.base}/requests.xml",
        data=SPEC_POST.format(key=city.key),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=TIMEOUT,
    )
    made = filed(answer, "xml")
    shown = GeoReport(city.base, output_format="xml").get_service_request(
        made["service_request_id"]
    )
    assert shown["address"] == "1234 5th street" and shown["lat"] == "37.76524078"
    assert errors(get(city, "requests/638344.xml"))[0][0] == 404
    assert errors(get(city, "tokens/12345.xml"))[0][0] == 404


def test_bad_parameters_get_the_spec_s_error_list(city: City) -> None:
    revoked = ivr(city.site.settings, "open311", "keys", "add", "old app").strip()
    ivr(city.site.settings, "open311", "keys", "revoke", "old app")
    listed = ivr(city.site.settings, "open311", "keys", "list")
    assert "pusher\t" in listed and "\tactive" in listed and "old app\t" in listed
    assert "revoked" in listed and revoked not in listed
    key = city.key
    cases: list[tuple[requests.Response, int, str]] = [
        (get(city, "requests.xml", status="pending"), 400, "must be open or closed"),
        (get(city, "requests.json", start_date="yesterday"), 400, "not a W3C date-time"),
        (get(city, "requests.json", start_date="2026-01-01T00:00:00"), 400, "needs a time zone"),
        (
            get(
                city,
                "requests.xml",
                start_date="2026-01-01T00:00:00Z",
                end_date="2026-06-01T00:00:00Z",
            ),
            400,
            "more than 90 days",
        ),
        (get(city, "requests.xml", service_code="nope"), 400, "'nope' is not a service"),
        (get(city, "requests.json", service_request_id="26-1,x"), 400, "not a registration"),
        (get(city, "services/nope.json"), 404, "'nope' is not a service"),
        (get(city, "services.yaml"), 400, "use .xml or .json"),
        (get(city, "nothing.xml"), 404, "not found"),
        (post(city, "xml", service_code="pothole", lat="1", long="1"), 403, "api_key"),
        (
            post(city, "json", api_key=revoked, service_code="pothole", lat="1", long="1"),
            403,
            "api_key",
        ),
        (post(city, "xml", api_key=key, lat="1", long="1"), 400, "service_code is required"),
        (post(city, "xml", api_key=key, service_code="pothole"), 400, "a location is required"),
        (post(city, "xml", api_key=key, service_code="pothole", lat="1"), 400, "go together"),
        (
            post(city, "json", api_key=key, service_code="pothole", lat="north", long="1"),
            400,
            "not a number",
        ),
        (
            post(city, "xml", api_key=key, service_code="pothole", **{"attribute[district]": "9"}),
            400,
            "from 1 to 6",
        ),
        (
            post(
                city,
                "xml",
                api_key=key,
                service_code="pothole",
                address_string="x",
                phone="call me",
            ),
            400,
            "phone is not a phone number",
        ),
        (
            post(
                city,
                "json",
                api_key=key,
                service_code="pothole",
                address_string="x",
                description="x" * 4001,
            ),
            400,
            "longer than 4000",
        ),
    ]
    for answer, status, words in cases:
        assert answer.status_code == status, (answer.request.url, answer.text)
        [(code, description)] = errors(answer)
        assert code == status and words in description, description


def test_phone_reports_are_pushed_once_and_their_status_comes_back(
    city: City, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second civicline (in-process worker, its own database) pushes its phone reports
    to `city` as the city's GeoReport endpoint, then reads their status back."""
    town = build_site(tmp_path_factory.mktemp("town"), settings={
        "open311_push_url": city.base, "open311_push_key": city.key,
    })  # fmt: skip
    ours = town.app.extensions["civicline"].database
    pusher = open311_pusher(town.settings, ours)
    assert pusher is not None
    worker = Worker(
        ours, pusher.handlers(), worker_id="t", give_ups=job_give_ups(town.settings, ours)
    )
    assert schedule_poll(ours, utc_now() - POLL_EVERY, POLL_EVERY)  # a period already due
    ran = run_due(worker)
    assert ran == 2  # the poll, then the push of the one phone report (the other is a message)
    with ours.session() as session:
        ticket = find_ticket(session, town.roads_ref)
        assert ticket is not None
        push = session.get_one(Open311Push, ticket.id)
        assert (push.state, push.error) == ("sent", None) and push.remote_id
        remote_id = push.remote_id
    with database(city).session() as session:
        remote = find_ticket(session, remote_id)
        assert remote is not None
        assert (remote.category, remote.district, remote.description) == (
            "pothole",
            2,
            f"hole {XSS}",
        )
        assert remote.caller is None  # the caller's number stays here
        count = select(func.count()).select_from(Open311Report)
        pushed_before = session.scalar(count)

    # Exactly once: a push job run again, and one whose answer was lost, file nothing new.
    with ours.session() as session:
        enqueue(session, PUSH_JOB, {"ticket_id": ticket.id}, at=utc_now())
    run_due(worker)
    with ours.session() as session:
        session.get_one(Open311Push, ticket.id).state = "sending"
        enqueue(session, PUSH_JOB, {"ticket_id": ticket.id}, at=utc_now())
    run_due(worker)
    with ours.session() as session:
        assert session.get_one(Open311Push, ticket.id).remote_id == remote_id
    with database(city).session() as session:
        assert session.scalar(count) == pushed_before

    # A report whose recorded description is being transcribed waits for its words.
    with ours.session() as session:
        spoken = create_ticket(
            session, pin=new_pin(), kind="report", draft=False, caller="+40722111222",
            language="en", department="lighting", category="street_light", district=5,
            recording_id=town.recording_id, description=None, deadline_days=3,
            call_id=town.roads_call, at=utc_now(), zone=ZoneInfo("Europe/Bucharest"),
        )  # fmt: skip
    assert pusher.queue_new(utc_now()) == 0
    with ours.session() as session:
        heard = {"text": "the lamp is dark", "language": "en"}
        session.get_one(Ticket, spoken.id).transcript = heard
    assert pusher.queue_new(utc_now()) == 1
    run_due(worker)
    with ours.session() as session:
        spoken_there = session.get_one(Open311Push, spoken.id).remote_id
    with database(city).session() as session:
        there = find_ticket(session, spoken_there or "")
        assert there is not None and there.description == "the lamp is dark"

    # The city resolves it on its site; the next poll brings the status to our ticket page.
    csrf = token(city.admin, f"/tickets/{remote_id}")
    city.admin.post(f"/tickets/{remote_id}/status", data={"csrf_token": csrf, "status": "closed"})
    later = Worker(
        ours, pusher.handlers(), worker_id="t", clock=lambda: utc_now() + timedelta(minutes=6)
    )
    assert later.run_once(OPEN311_JOBS)
    with ours.session() as session:
        push = session.get_one(Open311Push, ticket.id)
        assert (push.remote_status, push.remote_notes) == ("closed", "închisă")
        assert push.remote_agency == "Drumuri și infrastructură"
        assert isinstance(push.remote_updated_at, datetime)
    admin = town.app.test_client()
    login(admin, "admin")
    page = admin.get(f"/tickets/{town.roads_ref}").get_data(as_text=True)
    assert remote_id in page and "închisă" in page
    town.app.extensions["civicline"].database.dispose()


OPEN311_JOBS = Lane("open311", 1, kinds=frozenset({PUSH_JOB, POLL_JOB}))
"""The seeded site has other jobs due (a callback's reminder): these tests run only ours."""


def run_due(worker: Worker) -> int:
    ran = 0
    while worker.run_once(OPEN311_JOBS):
        ran += 1
    return ran


def test_a_push_is_retried_while_the_endpoint_is_down_and_failed_when_it_refuses(
    city: City, tmp_path_factory: pytest.TempPathFactory
) -> None:
    town = build_site(tmp_path_factory.mktemp("down"), settings={
        "open311_push_url": f"http://127.0.0.1:{free_port()}/open311/v2",  # nothing listens
        "open311_push_key": city.key, "http_connect_seconds": 2, "http_read_seconds": 2,
    })  # fmt: skip
    ours = town.app.extensions["civicline"].database
    down = open311_pusher(town.settings, ours)
    assert down is not None
    worker = Worker(ours, down.handlers(), worker_id="t", give_ups={PUSH_JOB: down.give_up})
    with ours.session() as session:
        ticket = find_ticket(session, town.roads_ref)
        assert ticket is not None
        ticket_id = ticket.id
    assert down.queue_new(utc_now()) == 1
    assert worker.run_once(OPEN311_JOBS)
    with ours.session() as session:
        push = session.get_one(Open311Push, ticket_id)
        assert push.state == "sending" and "ConnectionError" in (push.error or "")
        job = session.scalars(select(Job).where(Job.kind == PUSH_JOB)).one()
        assert (job.status, job.attempts) == ("queued", 1) and job.run_after > utc_now()
    down.give_up({"ticket_id": ticket_id}, "8 attempts failed")
    with ours.session() as session:
        assert session.get_one(Open311Push, ticket_id).state == "failed"
        session.get_one(Open311Push, ticket_id).state = "queued"
        job = session.scalars(select(Job).where(Job.kind == PUSH_JOB)).one()
        job.run_after = utc_now()

    refusing = Pusher(ours, GeoReportClient(city.base, city.key, (5, 5)), lambda: town.app.
                      extensions["civicline"].flows.current().flow, {"pothole": "sinkhole"},
                      utc_now, timedelta(minutes=5))  # fmt: skip
    worker = Worker(ours, refusing.handlers(), worker_id="t")
    assert worker.run_once(OPEN311_JOBS)
    with ours.session() as session:
        push = session.get_one(Open311Push, ticket_id)
        assert push.state == "failed"
        assert "'sinkhole' is not a service" in (push.error or "")
        assert session.scalars(select(Job.status).where(Job.kind == PUSH_JOB)).one() == "failed"
    ours.dispose()


def test_the_push_and_the_poll_on_postgresql(city: City, pg_database: Database) -> None:
    """The pushing side's queries (the new reports, the pushes to read back) on PostgreSQL."""
    flows = city.site.app.extensions["civicline"].flows
    loaded, now = flows.current(), utc_now()
    with pg_database.session() as session:
        calls.save_flow_version(session, loaded.version, loaded.source, loaded.path, now)
        calls.start_call(session, call_id="pg-call", caller="+40722111333", channel="terminal",
                         flow_version=loaded.version, language="ro", at=now)  # fmt: skip
        filed = create_ticket(
            session, pin=new_pin(), kind="report", draft=False, caller="+40722111333",
            language="ro", department="roads", category="pothole", district=1,
            recording_id=None, description="groapă", deadline_days=10, call_id="pg-call",
            at=now, zone=ZoneInfo("Europe/Bucharest"),
        )  # fmt: skip
    key = ivr(city.site.settings, "open311", "keys", "add", "pg town").strip()  # its own key:
    client = GeoReportClient(city.base, key, (5, 5))  # its 26-000001 is not the other town's
    pusher = Pusher(pg_database, client, lambda: loaded.flow, {}, utc_now, POLL_EVERY)
    worker = Worker(pg_database, pusher.handlers(), worker_id="pg")
    assert schedule_poll(pg_database, now - POLL_EVERY, POLL_EVERY)  # a period already due
    assert run_due(worker) == 2  # the poll, the push
    pusher.poll({})  # reads the status back (and queues the next poll)
    with pg_database.session() as session:
        push = session.get_one(Open311Push, filed.id)
        assert (push.state, push.remote_status, push.remote_notes) == (
            "sent",
            "open",
            "înregistrată",
        )
    assert pusher.queue_new(utc_now()) == 0  # pushed once
