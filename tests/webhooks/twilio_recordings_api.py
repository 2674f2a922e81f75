"""A local HTTP server standing in for Twilio's REST API where recordings are concerned (the
one boundary we cannot reach): a recording's WAV file downloaded and deleted, a call's
recording started, each request checked for the account's credentials and remembered."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from twilio.rest import Client
from twilio_signing import AUTH_TOKEN

from speech.audio import PHONE_RATE, silence, wav_bytes

ACCOUNT = "AC" + "2" * 32


class Clock:
    """A worker's clock that a test moves by hand (`clock.now += ...`)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def a_wav(seconds: float = 0.5) -> bytes:
    return wav_bytes(silence(seconds, PHONE_RATE), PHONE_RATE)


class StandIn(ThreadingHTTPServer):
    """Twilio's Recordings resource and a call's Recordings list, as far as we use them."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.failures = 0
        """How many downloads answer 500 before one succeeds."""
        self.requests: list[tuple[str, str]] = []
        self.started: list[dict[str, str]] = []


class _Handler(BaseHTTPRequestHandler):
    server: StandIn
    prefix = f"/2010-04-01/Accounts/{ACCOUNT}"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _authorised(self) -> bool:
        expected = base64.b64encode(f"{ACCOUNT}:{AUTH_TOKEN}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}"

    def _answer(self, status: int, body: bytes = b"", kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))
        sid = self.path.removeprefix(f"{self.prefix}/Recordings/").removesuffix(".wav")
        if not self._authorised():
            return self._answer(401)
        if self.server.failures:
            self.server.failures -= 1
            return self._answer(500, b'{"message": "try again"}')
        if sid not in self.server.files:
            return self._answer(404, b'{"code": 20404, "message": "not found", "status": 404}')
        self._answer(200, self.server.files[sid], "audio/x-wav")

    def do_DELETE(self) -> None:
        self.server.requests.append(("DELETE", self.path))
        sid = self.path.removeprefix(f"{self.prefix}/Recordings/").removesuffix(".json")
        if self.server.files.pop(sid, None) is None:
            return self._answer(404, b'{"code": 20404, "message": "not found", "status": 404}')
        self._answer(204)

    def do_POST(self) -> None:
        self.server.requests.append(("POST", self.path))
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.started.append(form)
        call_sid = self.path.split("/Calls/")[1].split("/")[0]
        body = {"sid": "RE" + uuid.uuid4().hex, "call_sid": call_sid, "status": "in-progress"}
        self._answer(201, json.dumps(body).encode())


@contextmanager
def running_recordings_api() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()


def rest_client(server: StandIn) -> Client:
    """The real `twilio` client, talking to `server`."""
    client = Client(ACCOUNT, AUTH_TOKEN)
    client.api.base_url = f"http://127.0.0.1:{server.server_port}"
    return client
