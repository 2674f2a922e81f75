"""The "email.send" job: one message to a department (and an officer), read from the
database when it is sent, so it says what the ticket is now.

Exactly once: the job is queued once per ticket and event (`notices`); a worker that dies
after the server took the message but before the job is marked done sends it again with
the same Message-ID, which mail clients show once. A refused login, a server that is down
or slow is retried with the worker's backoff (the job's error says which server and user,
never the password); recipients all refused fail the job at once.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ivr.clock import Clock, utc_now
from ivr.config import Settings
from ivr.email.message import Notice, compose, translations
from ivr.email.notices import EMAIL
from ivr.email.smtp import EmailRefused, SmtpServer, send
from ivr.jobs import PermanentJobError
from ivr.privacy.subject import mask_number
from ivr.storage.db import Database
from ivr.storage.models import Callback, Officer, Ticket, TicketNote
from menus.registry import FlowRegistry
from menus.schema import Flow

log = logging.getLogger(__name__)


def email_handlers(
    settings: Settings, database: Database, flows: FlowRegistry, clock: Clock = utc_now
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The handler of "email.send"; without CIVICLINE_SMTP_URL each job fails saying so."""
    server = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
    context = ssl.create_default_context(
        cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    )
    site = (settings.site_url or settings.public_url).rstrip("/")
    sender = settings.email_from or f"civicline@{server.host if server else 'localhost'}"

    def run(payload: dict[str, Any]) -> None:
        if server is None:
            raise PermanentJobError("CIVICLINE_SMTP_URL is not set: no e-mail can be sent")
        flow = flows.current().flow
        with database.session(read_only=True) as session:
            notice = _notice(session, flow, payload, site)
        at = clock()
        message_id = f"<{payload['key']}@civicline>".replace(":", ".")
        message = compose(
            notice,
            sender=sender,
            to=payload["to"],
            message_id=message_id,
            at=at,
            language=translations(flow.default_language),
        )
        try:
            send(message, server, timeout=settings.smtp_timeout_seconds, context=context)
        except EmailRefused as error:
            raise PermanentJobError(str(error)) from None
        log.info("e-mail %s about %s sent", payload["event"], notice.ref or "a callback")

    return {EMAIL: run}


def _notice(session: Session, flow: Flow, payload: dict[str, Any], site: str) -> Notice:
    language, zone = flow.default_language, ZoneInfo(flow.city.timezone)
    ticket = session.get(Ticket, payload["ticket_id"]) if payload.get("ticket_id") else None
    callback = session.get(Callback, payload["callback_id"]) if payload.get("callback_id") else None
    if ticket is None and callback is None:
        raise PermanentJobError(f"nothing to tell: no ticket or callback for {payload}")
    note = session.get(TicketNote, payload["note_id"]) if payload.get("note_id") else None
    department = ticket.department if ticket else callback.department if callback else None

    def name(texts: dict[str, str] | None) -> str:
        return texts.get(language, "") if texts else ""

    facts: dict[str, Any] = {
        "event": payload["event"],
        "ref": ticket.ref if ticket else "",
        "link": f"{site}/tickets/{ticket.ref}" if ticket else f"{site}/callbacks",
        "department": name(flow.departments[department].name)
        if department in flow.departments
        else department or "",
        "caller": mask_number(ticket.caller if ticket else callback.caller if callback else None)
        or "",
        "status": name(flow.texts.statuses.get(ticket.status)) if ticket else "",
    }
    if ticket is not None:
        category = flow.categories.get(ticket.category or "")
        facts["category"] = name(category.name) if category else ""
        facts["district"] = ticket.district
        facts["description"] = _transcript(ticket)
    if note is not None:
        facts["note"] = note.body
        facts["note_recorded"] = note.recording_id is not None
        facts["source"] = note.source
    if payload.get("level") is not None and payload["level"] < len(flow.escalation):
        facts["level"] = name(flow.escalation[payload["level"]].name)
    if callback is not None:
        officer = session.get(Officer, callback.officer_id) if callback.officer_id else None
        facts["officer"] = officer.name if officer else ""
        facts["slot"] = f"{callback.slot_start.astimezone(zone):%Y-%m-%d %H:%M}"
    return Notice(**facts)


def _transcript(ticket: Ticket) -> str:
    """The description as words: typed or transcribed; "" while the recording waits."""
    if ticket.description:
        return ticket.description
    transcript = ticket.transcript or {}
    return str(transcript.get("text") or "")
