"""E-mail to an opted-in department, through a real SMTP server (aiosmtpd) with TLS from a
throw-away CA (trustme) and a login: a report filed by phone, its escalation on the site, a
callback assigned to an officer there, and the citizen's SMS reopening it and adding a note,
each sent once by the worker's "email.send" job and checked as the server received it."""

from __future__ import annotations

import email
import email.policy
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from callback_site import csrf_token, supervisor_client
from callback_twilio import AUTH_TOKEN, PUBLIC_URL, SignedTwilio
from flask import Flask
from local_servers import free_port
from sqlalchemy import func, select
from storage.filing import call_on

from ivr.config import Settings
from ivr.email import notices
from ivr.email.job import email_handlers
from ivr.email.message import Notice, compose, translations
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.jobs import Lane, Worker
from ivr.storage import callbacks
from ivr.storage.db import Database
from ivr.storage.models import Job, SmsOutbox, Ticket
from ivr.storage.officers import add_officer
from ivr.storage.tickets import find_ticket, set_status
from menus.loader import load_flow
from menus.registry import FlowRegistry

DEMO_FLOW = Path(__file__).resolve().parents[2] / "callflows.yaml"
ROADS = "drumuri@primaria-demo.example"
OFFICER = "ion.pop@primaria-demo.example"
SENDER = "civicline@primaria-demo.example"
SITE = "https://civicline.primaria-demo.example"
USER, PASSWORD = "civicline", "s3cret-Pa55"
CITIZEN = "+40722111222"
MASKED = "+40 722 *** 222"
AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
"""Tuesday 10:00 in Bucharest: in the past, so that the jobs queued then are due now."""


@dataclass
class Mailbox:
    """What the SMTP server accepted: each message with its envelope recipients."""

    received: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> AuthResult:
    ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535 itself


@dataclass(frozen=True)
class SmtpServers:
    mailbox: Mailbox
    starttls_port: int
    smtps_port: int
    ca_file: Path


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServers]:
    """Two aiosmtpd servers sharing one mailbox: STARTTLS on submission, TLS from the first
    byte (smtps); both demand a login."""
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    mailbox = Mailbox()
    common = dict(hostname="127.0.0.1", authenticator=authenticate)
    starttls = Controller(
        mailbox, port=free_port(), tls_context=context, require_starttls=True,
        auth_require_tls=True, **common,
    )  # fmt: skip
    # aiosmtpd cannot tell that a TLS transport is one: the login needs no STARTTLS here
    smtps = Controller(
        mailbox, port=free_port(), ssl_context=context, auth_require_tls=False, **common
    )
    starttls.start()
    try:
        smtps.start()
        try:
            yield SmtpServers(mailbox, starttls.port, smtps.port, ca_file)
        finally:
            smtps.stop()
    finally:
        starttls.stop()


@pytest.fixture
def mailbox(smtp: SmtpServers) -> Mailbox:
    smtp.mailbox.received.clear()
    return smtp.mailbox


@pytest.fixture
def demo_settings(tmp_path: Path, sqlite_url: str, smtp: SmtpServers) -> Settings:
    """The demo city with its roads department opted in to e-mail (overrides conftest's)."""
    flow = tmp_path / "callflows.yaml"
    opted_in = 'transfer: "sip:drumuri@pbx.primaria-demo.ro"\n'
    flow.write_text(DEMO_FLOW.read_text().replace(opted_in, f"{opted_in}    email: {ROADS}\n"))
    return Settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        flow_path=flow,
        public_url=PUBLIC_URL,
        twilio_auth_token=AUTH_TOKEN,
        secret_key="test",
        smtp_url=f"smtp://{USER}:{PASSWORD}@127.0.0.1:{smtp.starttls_port}",
        smtp_ca_file=smtp.ca_file,
        smtp_timeout_seconds=5,
        email_from=SENDER,
        site_url=SITE,
    )


def run_email_jobs(settings: Settings, database: Database) -> int:
    """Run every due e-mail job once, as `ivr worker` does (its other jobs, SMS, are left
    alone); how many ran."""
    handlers = email_handlers(settings, database, FlowRegistry(settings.flow_path))
    worker = Worker(database, handlers, worker_id="test-worker", backoff_seconds=3600)
    lane = Lane("email", 1, kinds=frozenset({notices.EMAIL}))
    ran = 0
    while worker.run_once(lane):
        ran += 1
    return ran


def file_by_phone(settings: Settings, database: Database) -> str:
    """A pothole report filed by a call, through the call's storage effects."""
    effects = call_on(database, settings.flow_path.read_text(), AT, caller=CITIZEN, language="ro")
    filed = effects.carry_out(
        act.CreateTicket(
            kind="report", draft=False, caller=CITIZEN, language="ro", department="roads",
            category="pothole", district=3, description="O groapă adâncă", deadline_days=10,
        ),
        AT,
    )  # fmt: skip
    assert isinstance(filed, ev.TicketCreated)
    return filed.ref


def post_form(client: Any, page: str, action: str, form: dict[str, Any]) -> None:
    token = csrf_token(client.get(page).get_data(as_text=True))
    response = client.post(action, data={**form, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_each_event_emails_the_department_once_through_starttls(
    demo_app: Flask,
    demo_db: Database,
    demo_settings: Settings,
    signed: SignedTwilio,
    mailbox: Mailbox,
) -> None:
    ref = file_by_phone(demo_settings, demo_db)
    site = supervisor_client(demo_app, demo_db)
    page = f"/tickets/{ref}"
    post_form(site, page, f"{page}/escalate", {"level": "0"})
    with demo_db.session() as session:
        officer = add_officer(
            session, name="Ion Pop", phone="+40264000111", email=OFFICER,
            department="roads", capacity=1,
        )  # fmt: skip
        ticket = find_ticket(session, ref)
        assert ticket is not None
        booked = callbacks.book_callback(
            session, caller=CITIZEN, department="roads", slot_start=AT + timedelta(days=1),
            language="ro", call_id=None, ticket_id=ticket.id, at=AT,
        )  # fmt: skip
        officer_id, callback_id = officer.id, booked.id
        set_status(session, ticket, "resolved", "user:ana", AT)
    post_form(site, "/callbacks", f"/callbacks/{callback_id}/assign", {"officer": officer_id})
    assert signed.sms(CITIZEN, f"NEREZOLVAT {ref}").status_code == 200
    assert signed.sms(CITIZEN, f"NOTA {ref} Groapa e <b>mai mare</b> acum").status_code == 200
    shown = site.get(page).get_data(as_text=True)
    assert 'Reopened: not solved</td><td class="source">citizen, by SMS' in shown
    assert "Groapa e &lt;b&gt;mai mare&lt;/b&gt; acum" in shown and "<b>mai mare" not in shown
    with demo_db.session(read_only=True) as session:
        replies = session.scalars(select(SmsOutbox.template).order_by(SmsOutbox.id)).all()
    assert replies[-2:] == ["callback_sms.reopened", "callback_sms.note_added"]

    assert run_email_jobs(demo_settings, demo_db) == 5
    subjects = {message["Subject"]: (to, message) for to, message in mailbox.received}
    assert sorted(subjects) == sorted(
        f"[civicline] {subject}"
        for subject in (
            f"Sesizare nouă {ref}",
            f"Sesizarea {ref} a fost escaladată la șeful de serviciu",
            f"Apel înapoi atribuit: {ref}, 2026-12-02 10:00",
            f"Cetățeanul a redeschis sesizarea {ref}: nerezolvată",
            f"Cetățeanul a completat sesizarea {ref}",
        )
    )
    for to, message in subjects.values():
        body = message.get_content()
        assert message["From"] == SENDER and ROADS in to
        assert not message.is_multipart() and message.get_content_type() == "text/plain"
        assert f"{SITE}/tickets/{ref}" in body
        assert MASKED in body and CITIZEN not in body
        assert message["Message-ID"].endswith("@civicline>")
    new_to, new = subjects[f"[civicline] Sesizare nouă {ref}"]
    assert new_to == [ROADS] and "Categorie: groapă în carosabil" in new.get_content()
    callback_to, _ = subjects[f"[civicline] Apel înapoi atribuit: {ref}, 2026-12-02 10:00"]
    assert sorted(callback_to) == sorted([ROADS, OFFICER])
    _, note = subjects[f"[civicline] Cetățeanul a completat sesizarea {ref}"]
    assert "Nota cetățeanului: Groapa e <b>mai mare</b> acum" in note.get_content()
    assert "la sesizare (prin SMS)." in note.get_content()

    with demo_db.session() as session:
        ticket = session.get_one(Ticket, 1)
        assert not notices.tell_department(
            session, load_flow(demo_settings.flow_path).flow, ticket, "new", AT
        )
        emails = session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == notices.EMAIL)
        )
    assert emails == 5
    assert run_email_jobs(demo_settings, demo_db) == 0 and len(mailbox.received) == 5


def test_a_refused_login_is_a_clear_retried_error_and_smtps_delivers(
    demo_app: Flask, demo_db: Database, demo_settings: Settings, smtp: SmtpServers, mailbox: Mailbox
) -> None:
    ref = file_by_phone(demo_settings, demo_db)
    wrong = demo_settings.model_copy(
        update={"smtp_url": f"smtp://{USER}:wrong-{PASSWORD}@127.0.0.1:{smtp.starttls_port}"}
    )
    assert run_email_jobs(wrong, demo_db) == 1
    with demo_db.session(read_only=True) as session:
        job = session.scalars(select(Job).where(Job.kind == notices.EMAIL)).one()
        assert job.status == "queued" and job.attempts == 1
        assert job.last_error is not None and PASSWORD not in job.last_error
        assert f"refused the login of '{USER}': 535" in job.last_error
        job_id = job.id
    assert mailbox.received == []

    with demo_db.session() as session:  # due again now, instead of after the backoff
        session.get_one(Job, job_id).run_after = datetime.now(UTC)
    smtps = demo_settings.model_copy(
        update={"smtp_url": f"smtps://{USER}:{PASSWORD}@127.0.0.1:{smtp.smtps_port}"}
    )
    assert run_email_jobs(smtps, demo_db) == 1
    [(to, message)] = mailbox.received
    assert to == [ROADS] and message["Subject"] == f"[civicline] Sesizare nouă {ref}"


@pytest.mark.parametrize(
    ("language", "subject", "said"),
    [
        (
            "bg",
            "Гражданинът допълни сигнал 2026-00007",
            "Бележка на гражданина: (казано по телефона",
        ),
        ("ko", "The citizen added to report 2026-00007", "Citizen's note: (said on the phone"),
    ],
)
def test_a_message_is_in_the_citys_language_or_english(language, subject, said) -> None:
    """Bulgarian from the site's catalogue; a language it lacks (Korean) gets English."""
    notice = Notice(event="note", ref="2026-00007", link=f"{SITE}/tickets/2026-00007",
                    department="Drumuri", caller="", status="nouă", note_recorded=True,
                    source="phone")  # fmt: skip
    message = compose(notice, sender=SENDER, to=[ROADS], message_id="<x@civicline>", at=AT,
                      language=translations(language))  # fmt: skip
    assert message["Subject"] == f"[civicline] {subject}"
    assert said in message.get_content()
