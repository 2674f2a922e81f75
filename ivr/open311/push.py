"""Pushing reports filed by phone to the city's own GeoReport v2 endpoint
(`CIVICLINE_OPEN311_PUSH_URL`), so that its system stays the registry of record, and
polling their status back onto our tickets.

Two job kinds. `open311.poll` runs every `CIVICLINE_OPEN311_POLL_MINUTES`: it gives every
filed phone report of the last PUSH_LOOKBACK without a push row one (`queued`) and an
`open311.push` job, turns tokens into ids, and asks for the status of every pushed request
the endpoint has not closed. `open311.push` POSTs one ticket: the row is marked `sending`
before the request and `sent` with the id or token the endpoint returns, after which the
ticket is never POSTed again. A POST whose answer was lost (a timeout, a crash) is sent
again by the job's retry with the same `attribute[external_id]` (our registration number):
an endpoint that deduplicates on it, as civicline's does, files it once. A refusal (4xx)
fails the push at once, with the endpoint's reason shown on the ticket."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from ivr.clock import Clock
from ivr.jobs import PermanentJobError
from ivr.open311.client import GeoReportClient, Refused, Unavailable
from ivr.storage.db import Database
from ivr.storage.models import Open311Push, Ticket
from ivr.storage.queue import enqueue, enqueue_periodic
from ivr.storage.upsert import insert_once
from menus.schema import Flow

logger = logging.getLogger(__name__)
PUSH_JOB = "open311.push"
POLL_JOB = "open311.poll"
PUSH_ATTEMPTS = 8
PUSH_LOOKBACK = timedelta(days=30)
"""Reports older than this when pushing is switched on stay here: the city filed them."""
TRANSCRIPT_WAIT = timedelta(hours=1)
"""How long a report waits for its description's transcript before it is pushed without."""
CLOSED = "closed"


class Pusher:
    """The push and poll jobs for one endpoint; `flow` gives names and the city."""

    def __init__(
        self, database: Database, client: GeoReportClient, flow: Callable[[], Flow],
        services: dict[str, str], clock: Clock, every: timedelta,
    ) -> None:  # fmt: skip
        self.database = database
        self.client = client
        self.flow = flow
        self.services = services
        self.clock = clock
        self.every = every

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {PUSH_JOB: self.push, POLL_JOB: self.poll}

    def give_up(self, payload: dict[str, Any], why: str) -> None:
        """A push whose attempts are spent is shown as failed on its ticket."""
        with self.database.session() as session:
            row = session.get(Open311Push, int(payload["ticket_id"]))
            if row is not None and row.state in ("queued", "sending"):
                row.state, row.error = "failed", why

    def push(self, payload: dict[str, Any]) -> None:
        """POST one ticket, unless it was sent (or refused) already."""
        ticket_id = int(payload["ticket_id"])
        with self.database.session() as session:
            row = session.get_one(Open311Push, ticket_id)
            if row.state in ("sent", "failed"):
                return
            row.state = "sending"
            fields = self.fields(session.get_one(Ticket, ticket_id))
        try:
            named = self.client.post_request(fields)
        except Refused as refusal:
            self._note(ticket_id, state="failed", error=str(refusal))
            raise PermanentJobError(str(refusal)) from refusal
        except Unavailable as error:
            self._note(ticket_id, error=str(error))
            raise
        self._note(
            ticket_id,
            state="sent",
            remote_id=named.get("service_request_id") or None,
            token=named.get("token") or None,
            sent_at=self.clock(),
            error=None,
        )

    def fields(self, ticket: Ticket) -> dict[str, str]:
        """What the endpoint is told: the service, the words (said, or transcribed from the
        recording), the place; never the caller's number, PIN or recording."""
        flow = self.flow()
        city = flow.city.name.get(flow.default_language) or ""
        code = ticket.category or ""
        fields = {
            "service_code": self.services.get(code, code),
            "address_string": city,
            "attribute[external_id]": ticket.ref,
        }
        if ticket.district is not None:
            fields["attribute[district]"] = str(ticket.district)
            fields["address_string"] = f"{city}, district {ticket.district}"
        words = ticket.description or (ticket.transcript or {}).get("text")
        if words:
            fields["description"] = words
        return fields

    def poll(self, payload: dict[str, Any]) -> None:
        """Queue the new pushes, then read the endpoint's statuses; the next poll is queued
        whatever the endpoint answered, so an outage never ends the polling."""
        now = self.clock()
        try:
            queued = self.queue_new(now)
            self._resolve_tokens()
            self._read_statuses(now)
        except (Unavailable, Refused) as error:
            logger.warning("open311 poll: %s", error)
        else:
            logger.info("open311 poll: %s reports queued for pushing", queued)
        finally:
            with self.database.session() as session:
                enqueue_periodic(session, POLL_JOB, at=now, every=self.every, max_attempts=3)

    def queue_new(self, now: datetime) -> int:
        """Give every filed phone report without a push a queued one and its job; a report
        whose recorded description is still being transcribed waits (TRANSCRIPT_WAIT at most)
        so the city gets its words."""
        with self.database.session() as session:
            unpushed = session.execute(
                select(Ticket.id, Ticket.recording_id, Ticket.transcript, Ticket.created_at)
                .outerjoin(Open311Push, Open311Push.ticket_id == Ticket.id)
                .where(
                    Open311Push.ticket_id.is_(None),
                    Ticket.kind == "report",
                    Ticket.draft.is_(False),
                    Ticket.call_id.is_not(None),
                    Ticket.created_at >= now - PUSH_LOOKBACK,
                )
            ).all()
            new = [
                ticket_id
                for ticket_id, recording_id, transcript, created_at in unpushed
                if not (recording_id and not transcript and created_at > now - TRANSCRIPT_WAIT)
            ]
            for ticket_id in new:
                row = {"ticket_id": ticket_id, "state": "queued", "queued_at": now}
                if insert_once(session, Open311Push, row, ["ticket_id"]):
                    payload = {"ticket_id": ticket_id}
                    enqueue(session, PUSH_JOB, payload, at=now, max_attempts=PUSH_ATTEMPTS)
        return len(new)

    def _resolve_tokens(self) -> None:
        with self.database.session(read_only=True) as session:
            waiting = session.execute(
                select(Open311Push.ticket_id, Open311Push.token).where(
                    Open311Push.state == "sent",
                    Open311Push.remote_id.is_(None),
                    Open311Push.token.is_not(None),
                )
            ).all()
        for ticket_id, token in waiting:
            remote_id = self.client.request_for_token(token) if token else None
            if remote_id:
                self._note(ticket_id, remote_id=remote_id)

    def _read_statuses(self, now: datetime) -> None:
        still_open = or_(Open311Push.remote_status.is_(None), Open311Push.remote_status != CLOSED)
        pushed_ids = select(Open311Push.remote_id, Open311Push.ticket_id).where(
            Open311Push.state == "sent", Open311Push.remote_id.is_not(None), still_open
        )
        with self.database.session(read_only=True) as session:
            rows = session.execute(pushed_ids).all()
        pushed = {remote_id: ticket_id for remote_id, ticket_id in rows if remote_id}
        if not pushed:
            return
        for remote in self.client.statuses(list(pushed)):
            ticket_id = pushed.get(remote.get("service_request_id", ""))
            if ticket_id is None:
                continue
            self._note(
                ticket_id,
                remote_status=remote.get("status") or None,
                remote_notes=remote.get("status_notes") or None,
                remote_agency=remote.get("agency_responsible") or None,
                remote_updated_at=_when(remote.get("updated_datetime")),
                polled_at=now,
            )

    def _note(self, ticket_id: int, **changes: Any) -> None:
        with self.database.session() as session:
            row = session.get_one(Open311Push, ticket_id)
            for name, value in changes.items():
                setattr(row, name, value)


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def schedule_poll(database: Database, now: datetime, every: timedelta) -> bool:
    """Queue the next period's poll unless a worker did; whether this call queued it."""
    with database.session() as session:
        return enqueue_periodic(session, POLL_JOB, at=now, every=every, max_attempts=3)
