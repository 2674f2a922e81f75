"""webhooks.websocket, the WebSocket routes the streams run on, against a real client
(`websockets`) over a real socket: whole messages from fragments, pings, close codes, a
message too long, and requests that are no WebSocket."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from flask import Blueprint, Flask
from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.sync.client import connect
from werkzeug.serving import make_server

from webhooks import websocket
from webhooks.streams import START_SECONDS, serve

TIMEOUT = 10


@pytest.fixture
def echo() -> Iterator[tuple[str, queue.Queue[str]]]:
    """An echo route served by werkzeug; what the route saw at the end of each connection."""
    ended: queue.Queue[str] = queue.Queue()
    blueprint = Blueprint("echo", __name__)

    @websocket.route(blueprint, "/echo")
    def _echo(ws: websocket.WebSocket) -> None:
        while (message := ws.receive()) is not None:
            ws.send(message)
        ended.put("receive gave None")

    app = Flask(__name__)
    app.register_blueprint(blueprint)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{http.server_port}/echo", ended
    http.shutdown()
    thread.join()


def test_text_and_binary_messages_come_back_whole_even_when_sent_in_fragments(
    echo: tuple[str, queue.Queue[str]],
) -> None:
    address, _ended = echo
    with connect(f"ws://{address}", open_timeout=TIMEOUT) as client:
        client.send("hello")
        assert client.recv(TIMEOUT) == "hello"
        client.send(["frag", "ment", "ed ✓"])
        assert client.recv(TIMEOUT) == "fragmented ✓"
        client.send(b"\x00\xff" * 3000)
        assert client.recv(TIMEOUT) == b"\x00\xff" * 3000
        client.send([b"\x01", b"\x02\x03"])
        assert client.recv(TIMEOUT) == b"\x01\x02\x03"


def test_a_ping_is_answered_and_a_close_reaches_the_route(
    echo: tuple[str, queue.Queue[str]],
) -> None:
    address, ended = echo
    with connect(f"ws://{address}", open_timeout=TIMEOUT) as client:
        assert client.ping().wait(TIMEOUT)
    assert client.close_code == 1000  # the server answered our close
    assert ended.get(timeout=TIMEOUT) == "receive gave None"


def test_a_message_over_the_limit_closes_the_connection_with_1009(
    echo: tuple[str, queue.Queue[str]],
) -> None:
    address, ended = echo
    with connect(f"ws://{address}", open_timeout=TIMEOUT, max_size=None) as client:
        client.send("x" * (websocket.MAX_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            client.recv(TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    assert ended.get(timeout=TIMEOUT) == "receive gave None"


def test_a_peer_silent_for_the_idle_time_is_gone(
    echo: tuple[str, queue.Queue[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, ended = echo
    monkeypatch.setattr(websocket, "IDLE_SECONDS", 0.5)
    with connect(f"ws://{address}", open_timeout=TIMEOUT) as client:
        assert ended.get(timeout=TIMEOUT) == "receive gave None"
        with pytest.raises(ConnectionClosedError):
            client.recv(TIMEOUT)


def test_a_plain_request_on_a_websocket_route_is_a_400(echo: tuple[str, queue.Queue[str]]) -> None:
    address, ended = echo
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://{address}", timeout=TIMEOUT)
    assert refused.value.code == 400
    assert ended.empty()


@pytest.fixture
def stream_route() -> Iterator[tuple[str, queue.Queue[float]]]:
    """A Media Streams route (`webhooks.streams.serve`) on a call that never starts; how long
    each connection was held."""
    held: queue.Queue[float] = queue.Queue()
    blueprint = Blueprint("stream", __name__)

    @websocket.route(blueprint, "/stream")
    def _stream(ws: websocket.WebSocket) -> None:
        began = time.monotonic()
        serve(ws, NeverStarted())
        held.put(time.monotonic() - began)

    app = Flask(__name__)
    app.register_blueprint(blueprint)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{http.server_port}/stream", held
    http.shutdown()
    thread.join()


class NeverStarted:
    """A stream's call that no message starts (junk, or a start without a valid token)."""

    started = False

    def receive(self, text: str | bytes) -> tuple[list[str], bool]:
        return [], True

    def hang_up(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize("junk", [False, True], ids=["silent", "sending junk"])
def test_a_stream_that_does_not_start_is_dropped_after_a_few_seconds(
    stream_route: tuple[str, queue.Queue[float]], junk: bool
) -> None:
    address, held = stream_route
    with connect(f"ws://{address}", open_timeout=TIMEOUT) as client:
        deadline = time.monotonic() + START_SECONDS + TIMEOUT
        with pytest.raises(ConnectionClosed):
            while time.monotonic() < deadline:
                if junk:
                    client.send('{"event": "media"}')
                with contextlib.suppress(TimeoutError):
                    client.recv(0.2)
    assert START_SECONDS <= held.get(timeout=TIMEOUT) < START_SECONDS + 2
