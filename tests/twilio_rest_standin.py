"""A local HTTP server standing in for Twilio's REST API (the one boundary we cannot reach),
as far as the real `twilio` client uses it: Messages and Calls created and listed, a call's
recording started, a recording's WAV file downloaded and deleted. Every request must carry
the account's credentials and is remembered (`requests`).

A live call can be updated (`updates`: Twilio runs new TwiML on it at once).
`hold_calls` makes a call creation wait (after Twilio "has" the call, before it answers),
so a test can kill the worker in the middle of its request; `failures` makes that many
recording downloads answer 500 first; a message to a number in `opted_out` is refused with
Twilio's error 21610 (the recipient unsubscribed). Two modes fail every request, as a broken
or unreachable Twilio does: `errors` answers 500 to that many requests, and `hanging` holds
each request without an answer until the mode is cleared (or the stand-in stops).

`client()` is the real `twilio` client built as the application builds it, with short
timeouts (`TIMEOUTS`), so that a hanging stand-in fails the request quickly."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from twilio.rest import Client

from speech.audio import PHONE_RATE, silence, wav_bytes
from webhooks.twilio_rest import rest_client

ACCOUNT = "AC" + "2" * 32
TOKEN = "standin-auth-token"
OUR_NUMBER = "+40264000999"
TIMEOUTS = (2.0, 2.0)
"""The tests' client gives up on a request after 2 s of silence (the application: settings)."""
PREFIX = f"/2010-04-01/Accounts/{ACCOUNT}"
RECORDING = re.compile(rf"^{PREFIX}/Recordings/(RE[0-9a-f]+)\.(wav|json)$")
CALL_RECORDINGS = re.compile(rf"^{PREFIX}/Calls/(CA[0-9a-f]+)/Recordings\.json$")
CALL = re.compile(rf"^{PREFIX}/Calls/(CA[0-9a-f]+)\.json$")
NOT_FOUND = {"code": 20404, "message": "not found", "status": 404}
UNSUBSCRIBED = {
    "code": 21610,
    "message": "Attempt to send to unsubscribed recipient",
    "status": 400,
}


def a_wav(seconds: float = 0.5) -> bytes:
    """A recording's file: `seconds` of silence at 8 kHz."""
    return wav_bytes(silence(seconds, PHONE_RATE), PHONE_RATE)


class TwilioStandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.hold_calls = threading.Event()
        self.release = threading.Event()
        self.files: dict[str, bytes] = {}
        """The recordings Twilio holds, by RecordingSid."""
        self.failures = 0
        """How many recording downloads answer 500 before one succeeds."""
        self.started: list[dict[str, str]] = []
        """The forms of the call recordings started."""
        self.updates: list[dict[str, str]] = []
        """The forms of live calls updated (new TwiML, a hang-up), each with its "sid"."""
        self.opted_out: set[str] = set()
        """Numbers that texted STOP: Twilio refuses messages to them (21610)."""
        self.errors = 0
        """How many requests (of any kind) answer 500 before Twilio works again."""
        self.hanging = threading.Event()
        """While set, every request is held without an answer."""
        self.unhang = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def client(self) -> Client:
        """The real `twilio` client, talking to this stand-in."""
        return rest_client(ACCOUNT, TOKEN, self.url, TIMEOUTS)


class _Handler(BaseHTTPRequestHandler):
    server: TwilioStandIn

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _allowed(self, method: str) -> bool:
        """Remember the request; answer 401 unless it carries the account's credentials."""
        with self.server.lock:
            self.server.requests.append((method, self.path))
        expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._answer(401, b'{"code": 20003, "message": "authenticate", "status": 401}')
            return False
        if self.server.hanging.is_set():
            while self.server.hanging.is_set() and not self.server.unhang.wait(0.05):
                pass
            return False  # never answered: the request did not reach Twilio
        with self.server.lock:
            failing = self.server.errors > 0
            self.server.errors -= failing
        if failing:
            self._json(500, {"code": 20500, "message": "internal error", "status": 500})
            return False
        return True

    def do_POST(self) -> None:
        if not self._allowed("POST"):
            return
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        now = format_datetime(datetime.now(UTC).replace(microsecond=0))
        if started := CALL_RECORDINGS.match(self.path):
            with self.server.lock:
                self.server.started.append(form)
            item = {"sid": "RE" + uuid.uuid4().hex, "call_sid": started[1]}
            return self._json(201, item | {"status": "in-progress"})
        if updated := CALL.match(self.path):
            with self.server.lock:
                self.server.updates.append(form | {"sid": updated[1]})
            item = {"sid": updated[1], "status": "in-progress", "to": "", "from": ""}
            return self._json(200, item)
        if self.path.endswith("/Messages.json"):
            if form["To"] in self.server.opted_out:
                return self._json(400, UNSUBSCRIBED)
            item = {"sid": "SM" + uuid.uuid4().hex, "to": form["To"], "from": form["From"]}
            item |= {"body": form["Body"], "status": "queued", "date_created": now}
            item["status_callback"] = form.get("StatusCallback")
            with self.server.lock:
                self.server.messages.append(item)
            return self._json(201, item)
        assert self.path.endswith("/Calls.json"), self.path
        item = {"sid": "CA" + uuid.uuid4().hex, "to": form["To"], "from": form["From"]}
        item |= {"url": form["Url"], "status": "queued", "date_created": now, "start_time": now}
        item |= {"record": form.get("Record"), "status_callback": form.get("StatusCallback")}
        with self.server.lock:
            self.server.calls.append(item)
        if self.server.hold_calls.is_set():
            self.server.release.wait()
        self._json(201, item)

    def do_GET(self) -> None:
        if not self._allowed("GET"):
            return
        if recording := RECORDING.match(self.path):
            return self._download(recording[1])
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        items, key = (
            (self.server.messages, "messages")
            if url.path.endswith("/Messages.json")
            else (self.server.calls, "calls")
        )
        with self.server.lock:
            found = [
                item
                for item in reversed(items)
                if item["to"] == query.get("To", item["to"])
                and item["from"] == query.get("From", item["from"])
            ]
        self._json(200, {key: found, "next_page_uri": None, "page": 0})

    def _download(self, recording_sid: str) -> None:
        with self.server.lock:
            failing = self.server.failures > 0
            if failing:
                self.server.failures -= 1
            wav = self.server.files.get(recording_sid)
        if failing:
            return self._json(500, {"message": "try again"})
        if wav is None:
            return self._json(404, NOT_FOUND)
        self._answer(200, wav, "audio/x-wav")

    def do_DELETE(self) -> None:
        if not self._allowed("DELETE"):
            return
        recording = RECORDING.match(self.path)
        with self.server.lock:
            deleted = recording and self.server.files.pop(recording[1], None) is not None
        if not deleted:
            return self._json(404, NOT_FOUND)
        self._answer(204)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._answer(status, json.dumps(body).encode())

    def _answer(self, status: int, body: bytes = b"", kind: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the worker was killed while we held its request


@contextmanager
def running_standin() -> Iterator[TwilioStandIn]:
    server = TwilioStandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.unhang.set()
        server.shutdown()
        thread.join()
