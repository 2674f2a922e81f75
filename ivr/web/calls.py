"""The call log (filters, keyset pages, CSV) and a call's detail: its timeline, route,
transcript, keys, turn latencies, recordings (served from the store, audited), ticket,
callback and outcome. Every query is limited to the departments the user may see."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    abort,
    render_template,
    request,
    send_file,
)
from sqlalchemy import select

from ivr.app_context import recordings, services
from ivr.calls.turns import shown_input, turns
from ivr.engine.announcements import PROMPT_OWNER
from ivr.recordings.files import BadKey
from ivr.storage.calls import call_events
from ivr.storage.conversations import conversation
from ivr.storage.models import Call, Callback, Recording, Ticket
from ivr.web.access import flow, may_see, record, starts_play, visible, zone
from ivr.web.callfilter import PAGE_SIZE, CallFilter, after, before, cursor_of, intent_choices
from ivr.web.export import STREAMED, csv_download
from ivr.web.names import TURN_RESULTS, choice_name

blueprint = Blueprint("calls", __name__)
OUTCOMES = (
    "handled",
    "transferred",
    "ticket",
    "message",
    "callback",
    "appointment",
    "status",
    "draft",
)
EXTRA_OUTCOMES = ("failed", "abandoned", "swept")


def _log_query(filters: CallFilter) -> Any:
    current = flow()
    query = (
        select(Call, Ticket.ref)
        .outerjoin(Ticket, Ticket.id == Call.ticket_id)
        .where(visible(Call.department))
        .order_by(Call.started_at.desc(), Call.id.desc())
    )
    return filters.apply(query, zone(), current)


@blueprint.get("/calls")
def log() -> Any:
    filters = CallFilter.from_args(request.args, flow(), OUTCOMES + EXTRA_OUTCOMES)
    query = _log_query(filters)
    older = before(request.args)
    newer = after(request.args)
    if older is not None:
        query = query.where(older)
    elif newer is not None:  # the page above: read upwards, show newest first
        query = query.where(newer).order_by(None).order_by(Call.started_at, Call.id)
    with services().database.session(read_only=True) as session:
        rows = list(session.execute(query.limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if newer is not None and older is None:
        rows.reverse()
        has_older, has_newer = True, more
    else:
        has_older, has_newer = more, older is not None
    return render_template(
        "calls.html",
        rows=rows,
        filters=filters,
        older_cursor=cursor_of(rows[-1][0]) if rows and has_older else None,
        newer_cursor=cursor_of(rows[0][0]) if rows and has_newer else None,
        flow=flow(),
        outcomes=OUTCOMES + EXTRA_OUTCOMES,
        intents={
            value: choice_name(flow(), node, target)
            for value, (node, target) in intent_choices(flow()).items()
        },
        zone=zone(),
    )


@blueprint.get("/calls.csv")
def export() -> Any:
    filters = CallFilter.from_args(request.args, flow(), OUTCOMES + EXTRA_OUTCOMES)
    with services().database.session() as session:
        record(session, "calls.export", "calls", filters=filters.query_args())
    local = zone()

    def rows() -> Iterator[list[str]]:
        with services().database.session(read_only=True) as session:
            for call, ref in session.execute(_log_query(filters), execution_options=STREAMED):
                yield [
                    call.id,
                    call.started_at.astimezone(local).isoformat(),
                    call.ended_at.astimezone(local).isoformat() if call.ended_at else "",
                    call.caller or "",
                    call.language or "",
                    call.department or "",
                    call.outcome or "",
                    ref or "",
                ]

    header = ["call", "started", "ended", "caller", "language", "department", "outcome", "ticket"]
    return csv_download("calls.csv", header, rows)


def _visible_call(session: Any, call_id: str) -> Call:
    """The call, if the user may see its department or a ticket of it (a reassigned ticket's
    call stays readable by the ticket's new department); else 404."""
    call = session.get(Call, call_id)
    if call is None:
        abort(404)
    if not may_see(call.department):
        tickets = select(Ticket.department).where(
            (Ticket.call_id == call.id) | (Ticket.id == call.ticket_id)
        )
        if not any(may_see(department) for department in session.scalars(tickets)):
            abort(404)
    return call


@blueprint.get("/calls/<call_id>")
def detail(call_id: str) -> Any:
    with services().database.session(read_only=True) as session:
        call = _visible_call(session, call_id)
        events = call_events(session, call_id)
        recordings = list(session.scalars(select(Recording).where(Recording.call_id == call_id)))
        ticket = session.scalar(
            select(Ticket).where((Ticket.call_id == call_id) | (Ticket.id == call.ticket_id))
        )
        callback = session.scalar(select(Callback).where(Callback.call_id == call_id))
        messages = conversation(
            session, call.caller, call.started_at, ticket.id if ticket else None
        )
    return render_template(
        "call.html",
        call=call,
        events=events,
        turns=turns(events),
        shown_input=shown_input,
        route=_route(events),
        recordings=recordings,
        ticket=ticket,
        callback=callback,
        messages=messages,
        results=TURN_RESULTS,
        zone=zone(),
    )


@blueprint.get("/calls/<call_id>/recordings/<recording_id>")
def recording(call_id: str, recording_id: str) -> Any:
    with services().database.session() as session:
        _visible_call(session, call_id)
        found = session.get(Recording, recording_id)
        if found is None or found.call_id != call_id:
            abort(404)
        if starts_play(request.range):
            record(session, "recording.play", recording_id, call=call_id)
        key, digest = found.path, found.sha256
    try:
        wav = recordings().files.get(key)
    except BadKey:
        abort(404)
    if wav is None:
        abort(404)
    return send_file(io.BytesIO(wav), mimetype="audio/wav", conditional=True, etag=digest)


def _route(events: list[Any]) -> list[str]:
    """The nodes the call went through, in order (a node listed again when revisited)."""
    route: list[str] = []
    for row in events:
        node = None
        if row.kind == "action" and row.type == "Listen":
            node = row.payload.get("node")
        elif row.kind == "action" and row.type == "Say":
            owner = str(row.payload.get("prompt", "")).split(".")[0]
            node = owner if owner not in ("texts", PROMPT_OWNER) else None
        if node and (not route or route[-1] != node):
            route.append(node)
    return route
