"""WebSocket routes served on the request's own thread: wsproto speaks the protocol over the
socket the WSGI server hands over (gunicorn's `gunicorn.socket`, werkzeug's
`werkzeug.socket`), and the thread that runs the route reads it.

Why not flask-sock: its simple-websocket reads every socket in a thread of its own, which
queues each message and wakes the route's thread: two threads per stream and two wake-ups
per message. A Media Stream sends 50 messages a second, so 100 calls were 200 threads waking
10,000 times a second on the server's one core, each wake-up a turn at the GIL, and a
call's turn (the engine, its commit) waited behind them. A stream's route only ever waits
for the next message, so its own thread can read the socket.
"""

from __future__ import annotations

import contextlib
import functools
import socket
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask import Blueprint, Response, abort, request
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

RECEIVE_BYTES = 65536
MAX_MESSAGE_BYTES = 1 << 20
"""A longer message closes the connection (1009): a Media Streams message is a few kB."""
IDLE_SECONDS = 60.0
"""A peer silent this long is gone: a Media Stream sends audio 50 times a second, silence
included, and so does the browser phone; a dead network would otherwise hold the route's
thread (and the call) for good."""
CLOSING_SECONDS = 2.0
"""How long a close we start waits for the peer's close before the socket is closed."""

Message = str | bytes


class ConnectionClosed(Exception):
    """The peer is gone (or the connection broke): nothing more can be sent."""


class WebSocket:
    """One accepted WebSocket, blocking: `receive` the next message, `send` one."""

    def __init__(self, sock: socket.socket, environ: Mapping[str, Any]) -> None:
        """Accept the upgrade request of `environ` (RemoteProtocolError when it is none)."""
        self._sock = sock
        self._connection = WSConnection(ConnectionType.SERVER)
        self._messages: deque[Message] = deque()
        self._parts: list[str | bytes | bytearray] = []
        self._size = 0
        self._failure: int | None = None
        """The close code to end with, when the peer sent what cannot be taken."""
        self.open = True
        sock.settimeout(IDLE_SECONDS)
        self._connection.receive_data(_handshake_request(environ))
        self._handle(self._connection.events())

    def receive(self) -> Message | None:
        """The next message; None once the peer has closed or the connection broke."""
        while not self._messages and self.open:
            data = self._read()
            if not data:
                self.open = False
                break
            self._connection.receive_data(data)
            self._handle(self._connection.events())
            if self._failure is not None:
                self._close(self._failure)
        return self._messages.popleft() if self._messages else None

    def idle(self, seconds: float) -> None:
        """From now on, a peer silent for `seconds` is gone."""
        self._sock.settimeout(seconds)

    def send(self, message: Message) -> None:
        """Send one message (text for str); ConnectionClosed when the peer is gone."""
        if not self.open:
            raise ConnectionClosed
        event = TextMessage(message) if isinstance(message, str) else BytesMessage(message)
        self._write(event)

    def close(self) -> None:
        """Close the connection normally (at the end of the route), if still open."""
        if self.open:
            self._close(CloseReason.NORMAL_CLOSURE)

    def _handle(self, events: Iterator[Event]) -> None:
        for event in events:
            match event:
                case Request():
                    self._write(AcceptConnection())
                case TextMessage() | BytesMessage():
                    self._part(event.data, finished=event.message_finished)
                case Ping():
                    self._write(event.response())
                case CloseConnection() if self._connection.state is ConnectionState.REMOTE_CLOSING:
                    self._write(event.response())
                    self.open = False
                case CloseConnection():  # a frame wsproto could not parse: its close code
                    self._failure = event.code

    def _part(self, data: str | bytes | bytearray, *, finished: bool) -> None:
        self._parts.append(data)
        self._size += len(data)
        if self._size > MAX_MESSAGE_BYTES:
            self._failure = CloseReason.MESSAGE_TOO_BIG
        elif finished:
            parts, self._parts, self._size = self._parts, [], 0
            self._messages.append(_joined(parts))

    def _close(self, code: int) -> None:
        """Send our close, then wait (briefly) for the peer's: a socket closed with data of
        the peer still unread is reset, and the peer would lose our close frame."""
        with contextlib.suppress(ConnectionClosed):
            self._write(CloseConnection(code=code))
            self._sock.settimeout(CLOSING_SECONDS)
            while self._connection.state is not ConnectionState.CLOSED and (data := self._read()):
                self._connection.receive_data(data)
                deque(self._connection.events(), maxlen=0)  # read to the peer's close
        self.open = False

    def _read(self) -> bytes:
        """The next bytes; none once the peer closed, the connection broke or stayed idle."""
        try:
            return self._sock.recv(RECEIVE_BYTES)
        except OSError:
            return b""

    def _write(self, event: Event) -> None:
        try:
            self._sock.sendall(self._connection.send(event))
        except (OSError, LocalProtocolError):
            self.open = False
            raise ConnectionClosed from None


def _joined(parts: list[str | bytes | bytearray]) -> Message:
    """A message whole again from its frames' parts (a text message's parts are str)."""
    if isinstance(parts[0], str):
        return parts[0] if len(parts) == 1 else "".join(p for p in parts if isinstance(p, str))
    return b"".join(p for p in parts if not isinstance(p, str))


def _handshake_request(environ: Mapping[str, Any]) -> bytes:
    """The upgrade request as wsproto reads it, rebuilt from the WSGI environ (the server
    has already read it off the socket)."""
    lines = [f"GET {environ.get('RAW_URI') or '/'} HTTP/1.1"]
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            lines.append(f"{key[5:].replace('_', '-')}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def route(blueprint: Blueprint, path: str) -> Callable[[Callable[[WebSocket], None]], Any]:
    """Register `handler(ws)` as the WebSocket route `path` of `blueprint` (only upgrade
    requests match it; any other request there is a 400)."""

    def register(handler: Callable[[WebSocket], None]) -> Any:
        @functools.wraps(handler)
        def endpoint() -> Response:
            environ = request.environ
            sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
            if sock is None:
                raise RuntimeError("the WSGI server hands over no socket for WebSockets")
            try:
                ws = WebSocket(sock, environ)
            except RemoteProtocolError as error:
                abort(400, description=f"not a WebSocket upgrade: {error}")
            try:
                handler(ws)
            except ConnectionClosed:
                pass
            finally:
                ws.close()
            return _Finished() if "gunicorn.socket" in environ else Response()

        blueprint.route(path, websocket=True)(endpoint)
        return endpoint

    return register


class _Finished(Response):
    """gunicorn writes no HTTP response after a WebSocket: StopIteration from the app makes
    it close the connection instead."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise StopIteration
