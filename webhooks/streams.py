"""Serving one Media Stream (Twilio's, or the browser phone's) on a WebSocket route.

`serve` carries the socket's messages through a `StreamCall` (`ivr.channels.stream`) until
the stream ends. A peer that does not start a stream within `START_SECONDS` (silent, or
sending anything but a valid `start`) is dropped: each open stream holds a server thread.
"""

from __future__ import annotations

import contextlib
import time

from ivr.channels.stream import StreamCall
from webhooks.websocket import IDLE_SECONDS, ConnectionClosed, WebSocket

START_SECONDS = 5.0
"""How long a new stream may take to send its `start` (Twilio sends it at once)."""


def serve(ws: WebSocket, call: StreamCall) -> None:
    """Carry one WebSocket's messages through `call` until the stream ends; a socket that
    closes (or breaks) first is the caller hanging up."""
    deadline: float | None = time.monotonic() + START_SECONDS
    ws.idle(START_SECONDS)
    try:
        with contextlib.suppress(ConnectionClosed):  # a send found the socket gone
            while (message := ws.receive()) is not None:
                out, going_on = call.receive(message)
                for text in out:
                    ws.send(text)
                if not going_on:
                    return
                if deadline is not None and call.started:
                    deadline = None  # started: from now on only a silent peer is gone
                    ws.idle(IDLE_SECONDS)
                elif deadline is not None and time.monotonic() > deadline:
                    return
        call.hang_up()
    finally:
        call.close()
