"""Live calls: every call without an end, in whichever process it runs, and the node it is
in; the page follows a server-sent event stream that reads the database every few seconds."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context
from sqlalchemy import select

from ivr.app_context import current_time, services, settings
from ivr.storage.models import Call
from ivr.web import params
from ivr.web.access import flow, visible, zone
from ivr.web.names import node_name
from ivr.web.numbers import shown_number

blueprint = Blueprint("live", __name__)
LIVE_LIMIT = 500


def snapshot() -> list[dict[str, Any]]:
    """The calls in progress that the user may see, oldest first."""
    statement = (
        select(Call)
        .where(Call.ended_at.is_(None), visible(Call.department))
        .order_by(Call.started_at)
        .limit(LIVE_LIMIT)
    )
    now = current_time()
    local = zone()
    languages = {code: language.name for code, language in flow().languages.items()}
    with services().database.session(read_only=True) as session:
        return [
            {
                "id": call.id,
                "caller": shown_number(call.caller) or "withheld",
                "channel": call.channel,
                "language": languages.get(call.language or "", call.language or ""),
                "node": node_name(call.current_node) if call.current_node else "",
                "started": call.started_at.astimezone(local).strftime("%H:%M:%S"),
                "seconds": int((now - call.started_at).total_seconds()),
            }
            for call in session.scalars(statement)
        ]


@blueprint.get("/live")
def page() -> Any:
    return render_template("live.html", calls=snapshot())


@blueprint.get("/live/stream")
def stream() -> Any:
    """`data:` lines of JSON, one list of live calls every CIVICLINE_LIVE_REFRESH_SECONDS;
    `?once=1` sends one and ends (for scripts and tests)."""
    once = params.choice(request.args, "once", {"1"}) == "1"
    every = settings().live_refresh_seconds

    def events() -> Iterator[str]:
        while True:
            yield f"data: {json.dumps(snapshot())}\n\n"
            if once:
                return
            time.sleep(every)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(events()), mimetype="text/event-stream", headers=headers)
