"""The flow the line's conformance calls (and the SIP tests) run on: the Korean test flow,
open every day (so a transfer is always tried), with "3" for a ticket's status, and prompts
rendered faster than espeak-ng's default so real-time calls stay short."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from werkzeug.security import generate_password_hash

from ivr.clock import utc_now
from ivr.storage.db import Database
from ivr.storage.models import Ticket
from ivr.storage.tickets import PIN_HASH_METHOD, NewPin, create_ticket, new_pin

KOREAN_FLOW = Path(__file__).parents[1] / "flows" / "korean.yaml"
PROMPT_RATE = 300
"""Words per minute: faster than the default, so that real-time calls stay short."""
NO_INPUT_SECONDS = 4.0
"""Shorter than the main menu at PROMPT_RATE (about 5 s): a no-input timer that counted
from the prompt's start would expire before the caller heard the menu."""
STATUS_NODE = {
    "type": "status",
    "prompt": {"ko": "신고 번호 8자리를 누르고 우물 정자를 누르세요."},
    "ask_pin": {"ko": "비밀번호 4자리를 누르세요."},
    "not_found": {"ko": "그 번호의 신고가 없습니다."},
    "wrong_pin": {"ko": "비밀번호가 틀렸습니다."},
    "locked": {"ko": "시도가 너무 많습니다."},
    "result": {"ko": "신고 {ref} 는 {status} 입니다. 기한은 {deadline} 입니다."},
    "next": "goodbye",
}


def open_flow_text(*, twilio_mode: str | None = None) -> str:
    """The Korean test flow, open every day and with a status node; `twilio_mode: gather`
    for Twilio's gather mode."""
    flow = yaml.safe_load(KOREAN_FLOW.read_text())
    every_day = ["00:00-23:59"]
    flow["schedules"]["office"] = {
        "weekly": {day: every_day for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "public_holidays": False,
    }
    flow["nodes"]["main"]["intents"]["status"] = {
        "keys": "3",
        "phrases": {"ko": ["상태"]},
        "goto": "status",
    }
    flow["nodes"]["status"] = STATUS_NODE
    flow["settings"]["no_input_seconds"] = NO_INPUT_SECONDS
    if twilio_mode is not None:
        flow["settings"]["twilio_mode"] = twilio_mode
    return yaml.safe_dump(flow, allow_unicode=True, sort_keys=False)


def filed_report(
    database: Database, caller: str, *, district: int = 2, pin_said: str | None = None
) -> tuple[Ticket, str]:
    """A registered report of a fallen tree from `caller` on this flow, and its PIN (random,
    or `pin_said`: one a synthetic voice says clearly)."""
    pin = new_pin()
    if pin_said is not None:
        pin = NewPin(pin_said, generate_password_hash(pin_said, method=PIN_HASH_METHOD))
    with database.session() as session:
        ticket = create_ticket(
            session,
            pin=pin,
            at=utc_now(),
            zone=ZoneInfo("Europe/Sofia"),
            kind="report",
            draft=False,
            caller=caller,
            language="ko",
            department="parks",
            category="fallen_tree",
            district=district,
            recording_id=None,
            description=None,
            deadline_days=7,
            call_id=None,
        )
        session.expunge(ticket)
        return ticket, pin.clear
