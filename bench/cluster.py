"""`ivr serve` nodes on PostgreSQL behind nginx: 1 node, then 2, then a node killed (figures
defined in bench/README.md, "bench/cluster.py").

Scaling: at each level of N concurrent Media Streams calls (half answered by speech, half by
keys, arriving at random: the load generator of bench/twilio_streams.py, through nginx), the
carried calls are the highest level whose EoS→reply and key→reply p95 stay within 200 ms of
one call alone, with no call failed and the generator on time; first with one node, then
with two, in one run; the ratio of the two. Each node is pinned to a core of its own
(`taskset`); the load generator, nginx and PostgreSQL get the cores no node has, or, on a
machine of fewer than three cores, float over all of them (said in the output).

Node failure: N keypad calls on the two nodes; once all N are under way, one node is killed
(`kill -9` of its process group). A caller whose stream breaks does what Twilio does: it
posts the `<Connect>`'s action (/twilio/next, through nginx, so to the living node) and
plays the stream that answers. Counted: calls lost (failed, or finished without a filed
ticket), ticket numbers given twice, calls resumed, and the silence each resumed caller
heard (the stream's break to the first audio of the new one).
`.venv/bin/python bench/cluster.py [--levels 4,8] [--failure-calls 10] [--cpus 0,1]`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:0] = [str(ROOT), str(ROOT / "tests")]  # tests/: its throwaway PostgreSQL

from pgserver import running_postgres  # noqa: E402
from sqlalchemy import select  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from bench import twilio_streams as streams  # noqa: E402
from bench.calibration import add_arguments, calibrate  # noqa: E402
from ivr.storage.db import Database  # noqa: E402
from ivr.storage.models import Ticket  # noqa: E402

NGINX = Path("/usr/sbin/nginx")
PROXY_CONF = ROOT / "deploy" / "civicline-proxy.conf"
START_SECONDS = 90.0
GOAL_RATIO = 1.8


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--levels", type=levels, default=[4, 8], help="concurrent calls per level, e.g. 10,20,30"
    )
    parser.add_argument(
        "--failure-calls", type=int, default=10, help="concurrent calls when a node is killed"
    )
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--no-failure", action="store_true", help="measure scaling only")
    parts.add_argument("--no-scaling", action="store_true", help="measure the node failure only")
    parser.add_argument(
        "--calls-per-caller",
        type=int,
        default=2,
        help="calls each caller makes in a row (bench/twilio_streams.py makes 3)",
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=0.5,
        help="callers arrive within this share of one call's length (twilio_streams: 1)",
    )
    add_arguments(parser)
    return parser.parse_args(argv)


def levels(text: str) -> list[int]:
    """`4,8,12` → [4, 8, 12]: rising, each an even number (half speech, half keypad)."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of call counts: {text!r}") from None
    if any(n < 2 or n % 2 for n in counts) or counts != sorted(set(counts)):
        raise argparse.ArgumentTypeError(f"levels must be rising even numbers ≥ 2: {text!r}")
    return counts


def placement(cores: list[int]) -> tuple[list[int], list[int] | None]:
    """(the core of each of two nodes, the cores left for the load generator, nginx and
    PostgreSQL, or None when none are left and they float over all cores)."""
    if len(cores) >= 3:
        return cores[-2:], cores[:-2]
    return [cores[0], cores[-1]], None


def carried(results: list[tuple[int, bool]]) -> int:
    """The highest level before the first that fell behind: (level, kept up) in order."""
    best = 0
    for count, kept_up in results:
        if not kept_up:
            break
        best = count
    return best


def ratio(two: int, one: int) -> float | None:
    return two / one if one else None


def lost_calls(finished: list[str | None], filed: set[str]) -> int:
    """Calls that failed (None: no CallSid came back) or finished without a filed ticket."""
    return sum(1 for sid in finished if sid is None or sid not in filed)


def reused_numbers(numbers: list[tuple[int, int]]) -> int:
    """How many (year, number) pairs were given to more than one ticket."""
    return sum(1 for seen in Counter(numbers).values() if seen > 1)


@dataclass
class Node:
    """One `ivr serve` (gunicorn arbiter and worker, in a process group of its own)."""

    port: int
    data_dir: Path
    core: int
    process: subprocess.Popen[bytes] | None = None

    def start(self, environment: dict[str, str], threads: int) -> None:
        ivr = str(Path(sys.executable).with_name("ivr"))
        command = ["taskset", "-c", str(self.core), ivr, "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--threads", str(threads)],
            env={**environment, "CIVICLINE_DATA_DIR": str(self.data_dir)},
            cwd=self.data_dir,
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / "serve.log").open("ab"),
            start_new_session=True,
        )

    def pids(self) -> list[int]:
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [pid, *map(int, children)]

    def connections(self) -> int:
        """Established connections to this node now (nginx carrying streams, mostly)."""
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                count += int(local.rsplit(":", 1)[1], 16) == self.port and state == "01"
        return count

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a stream left open holds its worker
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Front:
    """nginx in front of the running nodes: what run_level needs of a server."""

    base: str
    nodes: list[Node]

    def cpu_seconds(self) -> float:
        """CPU time of every living node's processes: shares of a core, summed."""
        ticks, total = os.sysconf("SC_CLK_TCK"), 0
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            for pid in node.pids():
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / ticks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    """Until `url` answers; the bench ends if its process died or did not start in time."""
    deadline = time.monotonic() + START_SECONDS
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not come up")
        time.sleep(0.2)


@contextmanager
def running_nginx(root: Path, nodes: list[Node]) -> Iterator[str]:
    """A private nginx on a free port, `least_conn` over `nodes` as deploy/nginx.conf, with
    the shipped proxy configuration; its URL."""
    port = free_port()
    upstream = "".join(f"server 127.0.0.1:{n.port} max_fails=1 fail_timeout=10s; " for n in nodes)
    conf = root / "nginx.conf"
    temp = " ".join(f"{kind}_temp_path {root}/{kind};" for kind in ("proxy", "fastcgi"))
    conf.write_text(
        f"daemon off; worker_processes 1; pid {root}/nginx.pid; error_log {root}/error.log;"
        " events { worker_connections 4096; }"
        f" http {{ access_log off; client_body_temp_path {root}/body; {temp}"
        f" uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;"
        f" upstream civicline {{ least_conn; {upstream}}}"
        f" server {{ listen 127.0.0.1:{port}; include {PROXY_CONF}; }} }}\n"
    )
    process = subprocess.Popen(
        [str(NGINX), "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def running_nodes(
    root: Path, environment: dict[str, str], cores: list[int], threads: int
) -> Iterator[Front]:
    """`ivr serve` on each of `cores`, behind nginx; all stopped after."""
    nodes = []
    for i, core in enumerate(cores):
        data_dir = root / f"node{len(list(root.glob('node*')))}-{i}"
        shutil.copytree(root / "prompts-built" / "prompts", data_dir / "prompts")
        nodes.append(Node(free_port(), data_dir, core))
    nginx_root = root / f"nginx-{len(cores)}"
    nginx_root.mkdir()
    try:
        for node in nodes:
            node.start(environment, threads)
        for node in nodes:
            assert node.process is not None
            wait_for(f"http://127.0.0.1:{node.port}/health", node.process)
        with running_nginx(nginx_root, nodes) as url:
            yield Front(url, nodes)
    finally:
        for node in nodes:
            node.kill(signal.SIGTERM)


class Resumed(Exception):
    """The stream broke and the call went on on a new one: the question is asked again."""


@dataclass
class ResumingCall(streams.Call):
    """A caller of bench/twilio_streams.py that, as Twilio, posts the `<Connect>`'s action
    when its stream breaks and plays the stream the answer starts (or ends, on a hang-up).
    The resumed call says sorry and asks the question again, so the script's step under
    way starts over after the apology (a description half said is said again)."""

    sid: str | None = None
    silences: list[float] = field(default_factory=list)
    listeners: list[asyncio.Task[None]] = field(default_factory=list)
    heard_since: float | None = None

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            for listener in self.listeners:
                listener.cancel()

    async def _send(self, event: str, **body: object) -> None:
        if event == "start":
            start = body["start"]
            assert isinstance(start, dict)
            self.sid = str(start["callSid"])
        await super()._send(event, **body)

    async def _step(self, step: Callable[[], Awaitable[None]]) -> None:
        apology = 0
        while True:
            try:
                await self._until_marks(apology)
                await step()
                return
            except Resumed:
                apology = 1

    async def _frame(self, payload: str = streams.SILENCE) -> None:
        try:
            await super()._frame(payload)
        except ConnectionClosed:
            if not await self._resume():
                raise
            raise Resumed from None
        if self.heard_since is not None and self.media_at is not None:
            self.silences.append(self.media_at - self.heard_since)
            self.heard_since = None

    async def _resume(self) -> bool:
        """The stream ended: post /twilio/next; False when the call ends there."""
        loop = asyncio.get_running_loop()
        broke = loop.time()
        assert self.sid is not None
        body = await asyncio.to_thread(
            streams.post, self.base, "/twilio/next", {"CallSid": self.sid}
        )
        stream = ET.fromstring(body).find("./Connect/Stream")
        if stream is None:
            return False
        parameter = stream.find("Parameter")
        assert parameter is not None
        self.ws = await connect(str(stream.get("url")), compression=None, max_queue=None)
        self.listeners.append(asyncio.create_task(self._listen()))
        self.sequence, self.playhead = 0, loop.time()
        self._expect_reply()
        self.listening_since, self.heard_since = broke, broke
        media_format = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        token = str(parameter.get("value"))
        start = {"callSid": self.sid, "customParameters": {"token": token}}
        await self._send("start", start={**start, "mediaFormat": media_format})
        return True


class ResumingCaller(streams.Caller):
    def new_call(self) -> ResumingCall:
        return ResumingCall(self.base, self.words, self.keypad)


@dataclass
class Scaling:
    nodes: int
    carried: int = 0
    call_seconds: float = 0.0
    """One keypad call's length alone."""
    p95: dict[str, float] = field(default_factory=dict)
    """EoS→reply and key→reply p95 at the carried level (seconds)."""


async def alone(front: Front, words: dict[str, list[str]]) -> dict[str, float]:
    """A speech call straight to each node (each loads its speech model), then one speech
    and one keypad call through nginx side by side: their reply times' p50 (the baselines)
    and the keypad call's length (a speech call's depends on what was heard)."""
    warm_ups = [streams.Call(f"http://127.0.0.1:{n.port}", words, False) for n in front.nodes]
    speech, keypad = streams.Call(front.base, words, False), streams.Call(front.base, words, True)
    for calls in (warm_ups, [speech, keypad]):
        await asyncio.gather(*(call.run() for call in calls))
        errors = [call.error for call in calls if call.error]
        assert not errors, errors
    return {
        "EoS": streams.percentile([t.seconds for t in speech.eos_to_reply], 0.5),
        "key": streams.percentile([t.seconds for t in keypad.key_to_reply], 0.5),
        "seconds": keypad.ended - keypad.started,
    }


async def mixed_level(
    front: Front, words: dict[str, list[str]], count: int, spread: float
) -> list[streams.Level]:
    """Half the callers speak, half press keys, all arriving within `spread` seconds."""
    return list(
        await asyncio.gather(
            streams.run_level(front, words, count // 2, False, spread),
            streams.run_level(front, words, count - count // 2, True, spread),
        )
    )


def scale(front: Front, words: dict[str, list[str]], counts: list[int], spread: float) -> Scaling:
    result = Scaling(len(front.nodes))
    base = asyncio.run(alone(front, words))
    result.call_seconds = base["seconds"]
    print(
        f"{result.nodes} node(s): 1 call alone {base['seconds']:.0f} s, EoS→reply p50"
        f" {base['EoS'] * 1000:.0f} ms, key→reply p50 {base['key'] * 1000:.0f} ms",
        flush=True,
    )
    steps: list[tuple[int, bool]] = []
    for count in counts:
        levels = asyncio.run(mixed_level(front, words, count, spread * base["seconds"]))
        speech, keypad = levels
        p95 = {
            "EoS": streams.percentile(speech.all("eos_to_reply"), 0.95),
            "key": streams.percentile(keypad.all("key_to_reply"), 0.95),
        }
        failed = [c.error for level in levels for c in level.calls if c.error]
        lag = streams.percentile(speech.all("lateness") + keypad.all("lateness"), 0.99)
        late = any(p95[k] - base[k] > streams.LAG_LIMIT for k in p95)
        kept_up = not failed and not late and lag <= streams.GENERATOR_LAG_LIMIT
        steps.append((count, kept_up))
        print(
            f"  {count:>3} calls ({sum(len(level.calls) for level in levels)} placed):"
            f" EoS→reply p95 {p95['EoS'] * 1000:.0f} ms, key→reply p95 {p95['key'] * 1000:.0f}"
            f" ms, nodes' CPU {(speech.cpu + keypad.cpu) / 2 * 100:.0f}% of a core, generator"
            f" lag p99 {lag * 1000:.0f} ms, failed {len(failed)}, load average"
            f" {os.getloadavg()[0]:.2f}" + ("" if kept_up else " — behind"),
            flush=True,
        )
        for reason in sorted({str(f) for f in failed})[:3]:
            print(f"      failed: {reason}")
        if not kept_up:
            break
        result.p95 = p95
    result.carried = carried(steps)
    return result


async def failure_run(
    front: Front, words: dict[str, list[str]], count: int, spread: float
) -> list[ResumingCall]:
    """`count` keypad callers; once all are on a call, the node holding more connections
    (streams) is killed: nginx's round robin alternates a call's webhook and its stream, so
    calls arriving one by one may put every stream on one node."""
    arrivals = random.Random(count)
    callers = [
        ResumingCaller(front.base, words, True, arrivals.uniform(0, spread)) for _ in range(count)
    ]

    async def kill_later() -> None:
        await asyncio.sleep(spread + 10)
        held = [node.connections() for node in front.nodes]
        victim = front.nodes[held.index(max(held))]
        victim.kill()
        print(
            f"  node :{victim.port} killed (kill -9) at {count} concurrent calls; connections"
            f" held by the nodes then: {held}"
        )

    await asyncio.gather(kill_later(), *(caller.run() for caller in callers))
    return [call for caller in callers for call in caller.calls]


def fail_over(
    front: Front, words: dict[str, list[str]], count: int, spread: float, database: Database
) -> None:
    calls = asyncio.run(failure_run(front, words, count, spread))
    with database.session(read_only=True) as db:
        rows = list(db.execute(select(Ticket.call_id, Ticket.year, Ticket.number, Ticket.draft)))
    filed = {str(row.call_id) for row in rows if not row.draft}
    finished = [None if call.error else call.sid for call in calls]
    resumed = [call for call in calls if call.silences]
    silences = [s for call in resumed for s in call.silences]
    print(
        f"node failure at {count} calls: {len(calls)} placed, calls lost"
        f" {lost_calls(finished, filed)}, ticket numbers reused"
        f" {reused_numbers([(row.year, row.number) for row in rows])}, resumed {len(resumed)},"
        f" silence heard p50 {streams.percentile(silences, 0.5):.1f} s"
        f" p95 {streams.percentile(silences, 0.95):.1f} s"
    )
    for reason in sorted({str(call.error) for call in calls if call.error})[:3]:
        print(f"      failed: {reason}")


def main() -> None:
    arguments = parse_arguments()
    streams.CALLS_PER_CALLER = arguments.calls_per_caller  # its callers read it as they call
    calibrate(arguments.cpus)
    if not NGINX.exists() or shutil.which("taskset") is None or not shutil.which("espeak-ng"):
        raise SystemExit("needs nginx (Debian's package), taskset and espeak-ng")
    node_cores, rest = placement(sorted(os.sched_getaffinity(0)))
    if rest is not None:
        os.sched_setaffinity(0, set(rest))
    print(
        f"nodes on cores {node_cores[-1]} (1 node) and {node_cores} (2 nodes); load generator,"
        f" nginx and PostgreSQL on {rest if rest else 'any core (fewer than 3): not isolated'};"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    words = {w: streams.frames_of(streams.spoken(w)) for w in ("나무", "한국어")}
    words["description"] = streams.frames_of(
        streams.spoken("나무가 길에 쓰러졌습니다 빨리 와 주세요")
    )
    threads = max(arguments.levels + [arguments.failure_calls]) + 16
    with tempfile.TemporaryDirectory() as directory, running_postgres() as postgres:
        root = Path(directory)
        url = postgres.create_database("cluster_bench")
        database = Database(url)
        database.upgrade()
        environment = {
            **os.environ,
            "CIVICLINE_DATABASE_URL": url,
            "CIVICLINE_FLOW_PATH": str(streams.FLOW),
            "CIVICLINE_PUBLIC_URL": "",
            "CIVICLINE_TRUSTED_PROXIES": "1",
            "CIVICLINE_TWILIO_AUTH_TOKEN": streams.TOKEN,
            "CIVICLINE_SECRET_KEY": "bench",
            "CIVICLINE_MAX_RECOGNIZERS": "1000",
            "CIVICLINE_LOG_LEVEL": "WARNING",
            "CIVICLINE_DATA_DIR": str(root / "prompts-built"),
        }
        ivr = str(Path(sys.executable).with_name("ivr"))
        subprocess.run([ivr, "prompts", "build"], env=environment, check=True, capture_output=True)
        try:
            if not arguments.no_scaling:
                with running_nodes(root, environment, node_cores[-1:], threads) as front:
                    one = scale(front, words, arguments.levels, arguments.spread)
            with running_nodes(root, environment, node_cores, threads) as front:
                if arguments.no_scaling:
                    call_seconds = asyncio.run(alone(front, words))["seconds"]
                else:
                    two = scale(front, words, arguments.levels, arguments.spread)
                    share = ratio(two.carried, one.carried)
                    print(
                        f"carried calls: 1 node {one.carried}, 2 nodes {two.carried}, ratio"
                        f" {'n/a' if share is None else f'{share:.2f}'} (goal ≥ {GOAL_RATIO})"
                    )
                    call_seconds = two.call_seconds
                if not arguments.no_failure:
                    spread = arguments.spread * call_seconds
                    fail_over(front, words, arguments.failure_calls, spread, database)
        finally:
            database.dispose()
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
