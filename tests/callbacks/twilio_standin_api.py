"""A local HTTP server standing in for Twilio's REST API (the one boundary we cannot reach):
Messages and Calls, created and listed, as far as the real `twilio` client uses them.

`hold_calls` makes a call creation wait (after Twilio "has" the call, before it answers),
so a test can kill the worker in the middle of its request."""

from __future__ import annotations

import json
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

ACCOUNT = "AC" + "2" * 32
TOKEN = "standin-auth-token"
OUR_NUMBER = "+40264000999"


class TwilioStandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.hold_calls = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def client(self) -> Client:
        client = Client(ACCOUNT, TOKEN)
        client.api.base_url = self.url
        return client


class _Handler(BaseHTTPRequestHandler):
    server: TwilioStandIn

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        now = format_datetime(datetime.now(UTC).replace(microsecond=0))
        if self.path.endswith("/Messages.json"):
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

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
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
        server.shutdown()
        thread.join()
