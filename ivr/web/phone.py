"""The browser phone page: call the IVR from the site with the microphone and a keypad.

Pressing Call posts to /phone/calls (CSRF token in the X-CSRFToken header): the call starts
on the CallRunner (channel `browser`, no caller number, so the flow treats it as withheld)
and the page gets a one-time stream token holding the call's first line actions, which it
sends in the `start` of /phone/stream (`webhooks.browser_stream`). The page polls the call's
stored rows for the live transcript; only the user who started a call may read it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, jsonify, render_template, request, session, url_for
from sqlalchemy import select

from ivr.app_context import current_time, services
from ivr.calls.runner import CallRunner
from ivr.calls.turns import shown_input
from ivr.channels.line_actions import to_records
from ivr.storage import twilio as stream_tokens
from ivr.storage.models import Call, CallEvent
from ivr.web import params
from ivr.web.access import record
from webhooks.browser_stream import ENCODING, SAMPLE_RATE

blueprint = Blueprint("phone", __name__)
CHANNEL = "browser"
OWN_CALLS = "phone_calls"
"""The session key listing the calls this user started from the page."""
KEPT_CALLS = 20


@blueprint.get("/phone")
def page() -> Any:
    return render_template("phone.html", encoding=ENCODING, sample_rate=SAMPLE_RATE)


@blueprint.post("/phone/calls")
def start_call() -> Any:
    now = current_time()
    runner, actions = CallRunner.start(services(), caller=None, channel=CHANNEL, at=now)
    with services().database.session() as db:
        token = stream_tokens.issue_token(db, runner.call_id, to_records(actions), now)
        record(db, "phone.call", runner.call_id)
    session[OWN_CALLS] = [*session.get(OWN_CALLS, [])[-(KEPT_CALLS - 1) :], runner.call_id]
    # a WebSocket rule's URL comes out absolute (ws://); the page picks ws or wss itself
    stream = urlsplit(url_for("phone_stream.stream")).path
    return jsonify(call=runner.call_id, token=token, stream=stream)


@blueprint.get("/phone/calls/<call_id>/transcript")
def transcript(call_id: str) -> Any:
    """The call's rows after `?after=` (a seq) as lines of a transcript, and its state."""
    if call_id not in session.get(OWN_CALLS, []):
        abort(404)
    after = params.integer(request.args, "after", low=0, high=params.MAX_ID, default=0)
    with services().database.session(read_only=True) as db:
        call = db.get(Call, call_id)
        if call is None:
            abort(404)
        rows = db.scalars(
            select(CallEvent)
            .where(CallEvent.call_id == call_id, CallEvent.seq > after)
            .order_by(CallEvent.seq)
        ).all()
        lines = [line for row in rows if (line := _line(row)) is not None]
        last = rows[-1].seq if rows else after
        ended = call.ended_at is not None
        return jsonify(lines=lines, after=last, ended=ended, node=call.current_node)


def _line(row: CallEvent) -> dict[str, Any] | None:
    """What a person reads of one stored row, or None for rows that say nothing to them."""
    p = row.payload
    match row.kind, row.type:
        case "action", "Say":
            return {"who": "ivr", "text": p.get("text", "")}
        case "action", "Record":
            return {"who": "ivr", "text": f"(recording, at most {p.get('max_seconds')} s)"}
        case "action", "Transfer":
            target = p.get("target")
            return {"who": "ivr", "text": f"(transfer to {target}: the browser does not dial)"}
        case "action", "HangUp":
            return {"who": "ivr", "text": "(hung up)"}
        case "event", "DigitsPressed":
            return {"who": "you", "text": f"keys {shown_input(row.type, p)}"}
        case "event", "SpeechRecognized":
            text = shown_input(row.type, p)
            return {"who": "you", "text": text, "confidence": p.get("confidence")}
        case "event", "NoSpeech":
            return {"who": "you", "text": "(not understood)"}
        case "event", "RecordingFinished":
            return {"who": "you", "text": f"(recorded {float(p.get('seconds') or 0):.1f} s)"}
        case "event", "TicketCreated":
            ref = p.get("ref")
            return {"who": "ivr", "text": f"Registration number {ref}", "ref": ref}
    return None
