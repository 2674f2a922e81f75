"""One call through the app as deployed: `ivr serve` (gunicorn, gthread workers) in a
subprocess on a free port, driven by signed webhooks over HTTP and a Media Streams WebSocket
(the client acknowledges marks at once)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_servers import free_port
from simple_websocket import Client, ConnectionClosed
from twilio.request_validator import RequestValidator
from twilio_signing import AUTH_TOKEN, KOREAN_FLOW, new_call_sid

from ivr.storage import calls as stored_calls
from ivr.storage.db import Database
from ivr.storage.models import Call

LIMIT_SECONDS = 60


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The base URL of `ivr serve` on the Korean test flow; stopped after the test."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(tmp_path),
        "CIVICLINE_DATABASE_URL": "",
        "CIVICLINE_FLOW_PATH": str(KOREAN_FLOW),
        "CIVICLINE_PUBLIC_URL": base,
        "CIVICLINE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "CIVICLINE_SECRET_KEY": "test",
    }
    ivr = str(Path(sys.executable).with_name("ivr"))
    server = subprocess.Popen(
        [ivr, "serve", "--port", str(port), "--threads", "8"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + LIMIT_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "ivr serve did not answer"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def post(base: str, path: str, form: dict[str, str]) -> bytes:
    """A webhook request signed as Twilio signs it."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(base + path, form)
    request = urllib.request.Request(
        base + path,
        data=urllib.parse.urlencode(form).encode(),
        headers={"X-Twilio-Signature": signature},
    )
    with urllib.request.urlopen(request, timeout=LIMIT_SECONDS) as response:
        body: bytes = response.read()
        return body


def test_a_call_through_gunicorn_webhooks_and_media_stream(served: str, tmp_path: Path) -> None:
    sid = new_call_sid()
    answer = ET.fromstring(post(served, "/twilio/voice", {"CallSid": sid, "From": "+35988123456"}))
    stream = answer.find("./Connect/Stream")
    assert stream is not None
    url, token = str(stream.get("url")), str(stream.find("Parameter").get("value"))  # type: ignore[union-attr]
    assert url == served.replace("http", "ws") + "/twilio/stream"

    ws = Client.connect(url)
    sequence = 0

    def send(event: str, **body: object) -> None:
        nonlocal sequence
        sequence += 1
        ws.send(json.dumps({"event": event, "sequenceNumber": str(sequence), **body}))

    def hear() -> str:
        """Audio frames until the next mark; the node the call then listens at, read before
        the mark is acknowledged (at once) so nothing can move it meanwhile."""
        frames = 0
        while True:
            message = json.loads(ws.receive(timeout=LIMIT_SECONDS))
            if message["event"] == "media":
                frames += len(base64.b64decode(message["media"]["payload"])) // 160
            elif message["event"] == "mark":
                at = node()
                send("mark", streamSid="MZ1", mark=message["mark"])
                assert frames > 0
                return str(at)

    def node() -> str | None:
        with database.session(read_only=True) as db:
            call = db.get(Call, sid)
            return call.current_node if call else None

    database = Database(f"sqlite:///{tmp_path / 'civicline.db'}")
    try:
        ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        media_format = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        start = {"callSid": sid, "customParameters": {"token": token}, "mediaFormat": media_format}
        send("start", streamSid="MZ1", start=start)
        heard = [hear()]
        while heard[-1] != "main" and len(heard) < 6:
            heard.append(hear())
        assert heard[-1] == "main"
        send("dtmf", streamSid="MZ1", dtmf={"digit": "1"})
        assert hear() == "report_district"
        send("stop", streamSid="MZ1", stop={"callSid": sid})
        with pytest.raises(ConnectionClosed):
            while True:
                ws.receive(timeout=LIMIT_SECONDS)
        completed = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "3"}
        assert post(served, "/twilio/status", completed) == b""
        with database.session(read_only=True) as db:
            call = db.get_one(Call, sid)
            assert call.ended_at is not None and call.outcome == "draft"
            kinds = [row.type for row in stored_calls.call_events(db, sid)]
        assert kinds.count("CallerHungUp") == 1 and "StartCallRecording" in kinds
    finally:
        if ws.connected:
            ws.close()
        database.dispose()
