"""The SMS reminder of an appointment, the day before its slot (job "appointment.remind",
queued when the visit is booked or moved): sent once, only for the slot it was queued for,
only while the visit is booked and to a number that can take an SMS (the outbox skips a
number that opted out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ivr.clock import Clock, utc_now
from ivr.engine.render import fill, sms_slot
from ivr.jobs import Handler
from ivr.storage import outbox
from ivr.storage.appointments import BOOKED, REMIND
from ivr.storage.db import Database
from ivr.storage.models import Appointment
from menus.registry import FlowRegistry
from menus.schema import Flow


def visit_params(flow: Flow, appointment: Appointment, language: str) -> dict[str, str]:
    """An appointment's placeholders as its SMS fill them."""
    service = flow.services.get(appointment.service)
    return {
        "when": sms_slot(appointment.slot_start, ZoneInfo(flow.city.timezone), language),
        "service": service.name[language] if service else appointment.service,
        "counter": appointment.counter,
        "code": appointment.code,
    }


@dataclass(frozen=True)
class AppointmentJobs:
    database: Database
    flows: FlowRegistry
    clock: Clock = utc_now

    def handlers(self) -> dict[str, Handler]:
        return {REMIND: self.remind}

    def remind(self, payload: dict[str, Any]) -> None:
        now, flow = self.clock(), self.flows.current().flow
        texts = flow.texts.appointment_sms
        with self.database.session() as session:
            visit = session.get(Appointment, int(payload["appointment_id"]))
            if (
                texts is None
                or visit is None
                or visit.caller is None
                or visit.status != BOOKED
                or visit.reminded_at is not None
                or visit.slot_start.isoformat() != payload["slot"]
                or visit.slot_start <= now
            ):
                return
            visit.reminded_at = now
            language = flow.language_or_default(visit.language)
            params = visit_params(flow, visit, language)
            outbox.queue_sms(
                session,
                to=visit.caller,
                body=fill(texts.reminder[language], params),
                template="appointment_sms.reminder",
                language=language,
                ticket_id=None,
                at=now,
            )
