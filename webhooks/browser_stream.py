"""The browser phone's stream (DESIGN §8): a WebSocket at /phone/stream on the site itself.

It speaks the Media Streams message shapes (`ivr.channels.media_streams`: connected, start,
media, dtmf, mark, stop from the page; media, mark, clear to it) with `start.mediaFormat`
= `audio/l16` at 16 kHz, samples big-endian as RFC 3551 defines L16, and is driven by the
same `webhooks.streams.StreamCall` as a Twilio stream: prompts resampled to 16 kHz, the
caller's audio to Vosk at 16 kHz; descriptions, and the whole call once the caller heard the
recording notice without declining (StartCallRecording), kept as 16 kHz recordings.

Two things let a stream in: the session of a signed-in user (the site's login runs before
the handshake, and a page of another origin is refused) and the one-time token the phone
page issued for the call (`ivr.storage.twilio`: stored hashed, used once, short-lived) in
`start.customParameters.token` with the call's id as `start.callSid`.

The browser cannot dial a department: a Transfer ends the stream like a Twilio stream, and
the call then ends as if the caller hung up.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, abort, request
from flask_login import current_user

from ivr import app_context
from ivr.bootstrap import call_recognizer
from ivr.calls.heartbeat import serve_node_name
from ivr.channels.stream import StreamCall
from ivr.engine import events as ev
from webhooks import websocket
from webhooks.streams import serve

log = logging.getLogger(__name__)
blueprint = Blueprint("phone_stream", __name__)

ENCODING = "audio/l16"
SAMPLE_RATE = 16000


@websocket.route(blueprint, "/phone/stream")
def stream(ws: websocket.WebSocket) -> None:
    services, now = app_context.services(), app_context.current_time()
    call = StreamCall(
        services,
        app_context.prompts(),
        call_recognizer,
        started_at=now,
        recordings=app_context.recordings(),
        node=serve_node_name(),
    )
    serve(ws, call)
    runner = call.runner
    if runner is not None and not runner.session.ended:
        runner.feed(ev.CallerHungUp(at=call.now))


@blueprint.before_request
def _same_origin() -> None:
    """Only the site's own pages may open the stream (cross-site WebSocket hijacking)."""
    if not current_user.is_authenticated:
        abort(401)
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).hostname != urlsplit(f"//{request.host}").hostname:
        log.warning("browser stream refused: origin %s is not %s", origin, request.host)
        abort(403)
