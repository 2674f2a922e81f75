"""The browser phone's test site: the Korean test flow served over HTTP on a free local port
(werkzeug, threads), a signed-in `requests` session, and a WebSocket caller that speaks the
Media Streams shapes in L16 at 16 kHz as the phone page does."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from simple_websocket import Client
from site_data import PASSWORD
from werkzeug.serving import make_server

from ivr.config import Settings
from ivr.storage.directory import add_user
from ivr.storage.models import Call
from ivr.web import create_app

KOREAN_FLOW = Path(__file__).parents[1] / "flows" / "korean.yaml"
RECEIVE_LIMIT_SECONDS = 60  # a broken server fails the test instead of hanging it
L16_FORMAT = {"encoding": "audio/l16", "sampleRate": 16000, "channels": 1}


@dataclass(frozen=True)
class PhoneSite:
    app: Flask
    base: str

    def node(self, call_id: str) -> str | None:
        with self.app.extensions["civicline"].database.session() as db:
            call = db.get(Call, call_id)
            assert call is not None
            return call.current_node

    @property
    def stream_url(self) -> str:
        return self.base.replace("http", "ws", 1) + "/phone/stream"


@contextmanager
def served_phone(data_dir: Path, flow: Path = KOREAN_FLOW) -> Iterator[PhoneSite]:
    app = create_app(Settings(data_dir=data_dir, flow_path=flow, secret_key="test"))
    with app.extensions["civicline"].database.session() as db:
        add_user(db, "tester", PASSWORD, "officer")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PhoneSite(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join()


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token is not None, form
    answer = session.post(
        f"{base}/login",
        data={"csrf_token": token.group(1), "username": "tester", "password": PASSWORD},
        timeout=10,
    )
    assert answer.ok and "Sign out" in answer.text
    return session


def start_call(session: requests.Session, base: str) -> dict[str, str]:
    page = session.get(f"{base}/phone", timeout=10).text
    csrf = re.search(r'data-csrf="([^"]+)"', page)
    assert csrf is not None
    answer = session.post(f"{base}/phone/calls", headers={"X-CSRFToken": csrf.group(1)}, timeout=10)
    assert answer.status_code == 200, answer.text
    started: dict[str, str] = answer.json()
    return started


def session_headers(session: requests.Session, origin: str) -> dict[str, str]:
    """The handshake headers of a page of `origin` in this session (Flask-Login's strong
    session protection wants the same User-Agent as the sign-in)."""
    cookies = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return {"Cookie": cookies, "User-Agent": str(session.headers["User-Agent"]), "Origin": origin}


@dataclass
class BrowserCaller:
    """The page's side of one stream, without a browser."""

    ws: Client
    call_id: str
    sequence: int = 0
    frames: list[bytes] = field(default_factory=list)

    @classmethod
    def connect(cls, url: str, call_id: str, headers: dict[str, str]) -> BrowserCaller:
        return cls(Client.connect(url, headers=headers), call_id)

    def send(self, event: str, **body: Any) -> None:
        self.sequence += 1
        message = {"event": event, "sequenceNumber": str(self.sequence), "streamSid": "MZweb"}
        self.ws.send(json.dumps({**message, **body}))

    def start(self, token: str, media_format: dict[str, Any] = L16_FORMAT) -> None:
        self.ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "streamSid": "MZweb",
            "callSid": self.call_id,
            "customParameters": {"token": token},
            "mediaFormat": media_format,
        }
        self.send("start", start=start)

    def say(self, big_endian_pcm: bytes) -> None:
        for offset in range(0, len(big_endian_pcm), 640):
            payload = base64.b64encode(big_endian_pcm[offset : offset + 640]).decode()
            self.send("media", media={"track": "inbound", "payload": payload})

    def acknowledge(self, mark: str) -> None:
        self.send("mark", mark={"name": mark})

    def hear_prompt(self) -> str:
        """Audio until the next mark (not yet acknowledged); the mark's name."""
        while True:
            text = self.ws.receive(timeout=RECEIVE_LIMIT_SECONDS)
            assert text is not None, "the server sent nothing"
            message = json.loads(text)
            if message["event"] == "media":
                self.frames.append(base64.b64decode(message["media"]["payload"]))
            elif message["event"] == "mark":
                return str(message["mark"]["name"])
