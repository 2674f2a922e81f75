"""Concurrent Twilio Media Streams calls against `ivr serve` as deployed (gunicorn gthread),
over real WebSockets, with μ-law speech synthesised by espeak-ng on the Korean test flow
(figures defined in bench/README.md).

The server runs pinned to the last core and the load generator to the first (`taskset`).
Each simulated call is started by a signed /twilio/voice webhook, then speaks Media Streams
paced at real time (one 20 ms frame every 20 ms, silence between words) and acknowledges
each mark as soon as it arrives. `.venv/bin/python bench/twilio_streams.py [--levels 1,10,20]`
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simple_websocket import Client, ConnectionClosed  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from speech.audio import PHONE_RATE, pcm_to_ulaw, read_wav  # noqa: E402

FLOW = ROOT / "tests" / "flows" / "korean.yaml"
TOKEN = "bench-auth-token"
FRAME = 160  # μ-law bytes in 20 ms at 8 kHz
FRAME_SECONDS = 0.02
LAG_LIMIT = 0.2
"""A level falls behind when its p95 EoS → reply exceeds one stream's p50 by more than this."""
REPLY_LIMIT = 8.0
WEBHOOK_RATE = 200
WEBHOOK_SECONDS = 5


def spoken(text: str) -> bytes:
    """`text` in espeak-ng's Korean voice as μ-law, cut after its last audible sample."""
    wav = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "150", "--stdout", text], capture_output=True, check=True
    ).stdout
    pcm = read_wav(wav, PHONE_RATE)
    samples = memoryview(pcm).cast("h")
    last = max((i for i, s in enumerate(samples) if abs(s) > 200), default=len(samples) - 1)
    return pcm_to_ulaw(pcm[: 2 * (last + 1)])


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]

    def rss_mb(self) -> float:
        """Resident memory of the gunicorn master and its workers."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024


def start_server(data_dir: Path, threads: int, core: int) -> Server:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(data_dir),
        "CIVICLINE_DATABASE_URL": "",
        "CIVICLINE_FLOW_PATH": str(FLOW),
        "CIVICLINE_PUBLIC_URL": base,
        "CIVICLINE_TWILIO_AUTH_TOKEN": TOKEN,
        "CIVICLINE_SECRET_KEY": "bench",
        "CIVICLINE_MAX_RECOGNIZERS": "1000",
        "CIVICLINE_LOG_LEVEL": "WARNING",
    }
    ivr = str(Path(sys.executable).with_name("ivr"))
    command = ["taskset", "-c", str(core), ivr, "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--threads", str(threads)],
        env=environment,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "serve.log").open("wb"),
        start_new_session=True,  # its own process group: stopped with its worker
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return Server(base, process)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((data_dir / "serve.log").read_text()) from None
            time.sleep(0.2)


def post(base: str, path: str, form: dict[str, str]) -> bytes:
    signature = RequestValidator(TOKEN).compute_signature(base + path, form)
    request = urllib.request.Request(
        base + path,
        data=urllib.parse.urlencode(form).encode(),
        headers={"X-Twilio-Signature": signature},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
        return body


@dataclass
class Call:
    """One simulated caller: the call script of bench/README.md, paced at real time."""

    base: str
    words: dict[str, bytes]
    eos_to_reply: list[float] = field(default_factory=list)
    mark_round_trip: list[float] = field(default_factory=list)
    error: str | None = None
    last_ack: float = 0.0
    ws: Client | None = None

    def run(self) -> None:
        try:
            self._run()
        except (ConnectionClosed, OSError, AssertionError, TimeoutError) as error:
            self.error = f"{type(error).__name__}: {error}"
        finally:
            if self.ws is not None and self.ws.connected:
                self.ws.close()

    def _run(self) -> None:
        sid = "CA" + uuid.uuid4().hex
        answer = ET.fromstring(post(self.base, "/twilio/voice", {"CallSid": sid}))
        stream = answer.find("./Connect/Stream")
        assert stream is not None
        parameter = stream.find("Parameter")
        assert parameter is not None
        self.ws = Client.connect(str(stream.get("url")))
        self.sequence = 0
        self.next_frame = time.monotonic()
        media_format = {"encoding": "audio/x-mulaw", "sampleRate": PHONE_RATE, "channels": 1}
        start = {
            "callSid": sid,
            "customParameters": {"token": parameter.get("value")},
            "mediaFormat": media_format,
        }
        self._send("start", start=start)
        self._until_prompt(2)  # welcome, then the notice: its mark acknowledged
        acked = self.last_ack
        self._until_prompt(
            1, first_frame=lambda: self.mark_round_trip.append(time.monotonic() - acked)
        )
        self._speak(self.words["나무"])  # main menu → the district question
        self._send("dtmf", dtmf={"digit": "3"})  # → the description
        self._until_prompt(1)
        self._stream(self.words["description"])
        self._send("dtmf", dtmf={"digit": "#"})  # → the confirmation question
        self._until_prompt(1)
        self._speak(self.words["한국어"], last=True)  # confirmed: ticket filed, goodbye

    def _send(self, event: str, **body: object) -> None:
        self.sequence += 1
        message = {"event": event, "sequenceNumber": str(self.sequence), "streamSid": "MZ"}
        self.ws.send(json.dumps({**message, **body}))

    def _poll(self) -> list[dict[str, object]]:
        """Messages received so far; marks acknowledged at once."""
        got = []
        while (text := self.ws.receive(timeout=0)) is not None:
            message = json.loads(text)
            got.append(message)
            if message["event"] == "mark":
                self._send("mark", mark=message["mark"])
                self.last_ack = time.monotonic()
        return got

    def _frame(self, payload: bytes) -> list[dict[str, object]]:
        """Send one 20 ms frame at its time; what arrived meanwhile."""
        self.next_frame += FRAME_SECONDS
        delay = self.next_frame - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            self.next_frame = time.monotonic()
        media = {"track": "inbound", "payload": base64.b64encode(payload).decode()}
        self._send("media", media=media)
        return self._poll()

    def _until_prompt(self, marks: int, first_frame: Callable[[], None] | None = None) -> None:
        """Silence until `marks` marks arrived (acknowledged at once)."""
        seen, deadline = 0, time.monotonic() + REPLY_LIMIT
        while seen < marks:
            assert time.monotonic() < deadline, "no prompt came"
            for message in self._frame(bytes([0xFF]) * FRAME):
                if message["event"] == "media" and first_frame is not None:
                    first_frame()
                    first_frame = None
                seen += message["event"] == "mark"

    def _stream(self, ulaw: bytes) -> None:
        for offset in range(0, len(ulaw), FRAME):
            self._frame(ulaw[offset : offset + FRAME].ljust(FRAME, b"\xff"))

    def _speak(self, ulaw: bytes, *, last: bool = False) -> None:
        """Say the words, then silence until the reply's first audio frame: EoS → reply.
        After the `last` words the server says goodbye and closes the stream."""
        for _ in range(15):
            self._frame(bytes([0xFF]) * FRAME)
        self._stream(ulaw)
        end = time.monotonic()
        deadline = end + REPLY_LIMIT
        while True:
            assert time.monotonic() < deadline, "no reply to speech"
            if any(m["event"] == "media" for m in self._frame(bytes([0xFF]) * FRAME)):
                self.eos_to_reply.append(time.monotonic() - end)
                break
        if not last:
            self._until_prompt(1)
            return
        try:
            while time.monotonic() < deadline + REPLY_LIMIT:
                self._frame(bytes([0xFF]) * FRAME)
        except ConnectionClosed:
            return
        raise AssertionError("the stream was not closed after goodbye")


def run_level(base: str, words: dict[str, bytes], count: int) -> list[Call]:
    calls = [Call(base, words) for _ in range(count)]
    threads = [threading.Thread(target=c.run) for c in calls]
    for i, thread in enumerate(threads):
        thread.start()
        time.sleep(0.05 if i % 10 else 0.2)  # calls arrive over a few seconds, not at once
    for thread in threads:
        thread.join()
    return calls


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def webhook_latency(base: str) -> list[float]:
    """Signed status callbacks at WEBHOOK_RATE per second for WEBHOOK_SECONDS."""
    timings: list[float] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        form = {"CallSid": "CA" + uuid.uuid4().hex, "CallStatus": "ringing", "SequenceNumber": "1"}
        began = time.monotonic()
        post(base, "/twilio/status", form)
        with lock:
            timings.append(time.monotonic() - began)

    threads = []
    start = time.monotonic()
    for i in range(WEBHOOK_RATE * WEBHOOK_SECONDS):
        due = start + i / WEBHOOK_RATE
        time.sleep(max(0.0, due - time.monotonic()))
        thread = threading.Thread(target=one, args=(i,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="1,10,20,30,40,50,60", help="concurrent calls")
    arguments = parser.parse_args()
    levels = [int(n) for n in arguments.levels.split(",")]
    if shutil.which("espeak-ng") is None or shutil.which("taskset") is None:
        raise SystemExit("needs espeak-ng and taskset")
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[0]})
    words = {w: spoken(w) for w in ("나무", "한국어")}
    words["description"] = spoken("나무가 길에 쓰러졌습니다 빨리 와 주세요")
    with tempfile.TemporaryDirectory() as directory:
        server = start_server(Path(directory), threads=max(levels) + 16, core=cores[-1])
        try:
            print(f"load generator on core {cores[0]}, server on core {cores[-1]}")
            warm = run_level(server.base, words, 1)[0]  # loads the model
            assert warm.error is None, warm.error
            baseline: float | None = None
            carried = 0
            for count in levels:
                calls = run_level(server.base, words, count)
                failed = [c.error for c in calls if c.error]
                replies = [t for c in calls for t in c.eos_to_reply]
                marks = [t for c in calls for t in c.mark_round_trip]
                if not replies:
                    print(f"{count:>3} calls: no replies ({failed[:1]})")
                    break
                p50, p95 = percentile(replies, 0.5), percentile(replies, 0.95)
                baseline = p50 if baseline is None else baseline
                behind = p95 - baseline > LAG_LIMIT or bool(failed)
                print(
                    f"{count:>3} calls: EoS→reply p50 {p50 * 1000:.0f} ms p95 {p95 * 1000:.0f} ms,"
                    f" mark round trip p50 {percentile(marks, 0.5) * 1000:.0f} ms"
                    f" p95 {percentile(marks, 0.95) * 1000:.0f} ms,"
                    f" server RSS {server.rss_mb():.0f} MB, failed {len(failed)}"
                    + (" — behind" if behind else "")
                )
                for reason in sorted(set(failed))[:3]:
                    print(f"      failed: {reason}")
                if behind:
                    break
                carried = count
            print(f"concurrent calls in real time (p95 lag ≤ 200 ms): {carried}")
            timings = webhook_latency(server.base)
            print(
                f"webhook at {WEBHOOK_RATE}/s: p50 {percentile(timings, 0.5) * 1000:.1f} ms,"
                f" p99 {percentile(timings, 0.99) * 1000:.1f} ms"
            )
        finally:
            server.process.terminate()
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a stream left open holds its worker
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()


if __name__ == "__main__":
    main()
