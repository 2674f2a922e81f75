"""`ivr serve` nodes on PostgreSQL behind nginx: 1 node, then 2, then a node killed (figures
defined in bench/README.md, "bench/cluster.py").

Scaling: at each level of N concurrent Media Streams calls (half answered by speech, half by
keys, arriving at random: the load generator of bench/twilio_streams.py, through nginx), the
carried calls are the highest level whose EoS→reply and key→reply p95 stay within 200 ms of
one call alone, with no call failed and the generator on time; first with one node, then
with two (by default at 1.8 and 2 times what one carried), in one run; the ratio of the two.

Each node gets the same CPU budget of its own, `--node-cpu` cores (by default half of all
cores but one, at most one: 0.5 on 2 cores), as a quota of the kernel's cgroup CPU
controller (v1 cpu.cfs_quota_us or v2 cpu.max, per 100 ms); the load generator, nginx and
PostgreSQL share the rest, in a group of their own, without quota. Each group has ten times
the weight of the machine's other processes, so that those cannot take a node's budget or
delay the generator. Each level prints
each node's CPU beside its quota, how often the quota stopped it, the CPU of the rest and of
the machine's other users and the idle, and says when the machine was full (then the
budget may not have been there). The groups are removed after, also on failure or Ctrl-C.

Node failure: N keypad calls on the two nodes; once all N are under way, one node is killed
(`kill -9` of its process group). A caller whose stream breaks does what Twilio does: it
posts the `<Connect>`'s action (/twilio/next, through nginx, so to the living node) and
plays the stream that answers. Counted: calls lost (failed, or finished without a filed
ticket), ticket numbers given twice, calls resumed, and the silence each resumed caller
heard (the stream's break to the first audio of the new one).
Needs root (it makes cgroups). `.venv/bin/python bench/cluster.py [--levels 16,24,28]
[--levels-two 44,48] [--node-cpu 0.5] [--failure-calls 10] [--no-failure | --no-scaling]`
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:0] = [str(ROOT), str(ROOT / "tests")]  # tests/: its throwaway PostgreSQL, free ports

from local_servers import free_port  # noqa: E402
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
GENERATOR_BEHIND = "the load generator fell behind"


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--levels",
        type=levels,
        default=[16, 24, 28],
        help="concurrent calls per level with 1 node, e.g. 10,20,30",
    )
    parser.add_argument(
        "--levels-two",
        type=levels,
        help="with 2 nodes (default: 1.8 and 2 times what 1 node carried, then twice the"
        " 1-node level that fell behind)",
    )
    parser.add_argument(
        "--node-cpu",
        type=node_cpu,
        default=default_node_cpu(len(os.sched_getaffinity(0))),
        help="each node's CPU quota in cores (default: half of all cores but one, at most 1)",
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


def node_cpu(text: str) -> float:
    """`0.5` → 0.5 cores: a quota the kernel can enforce (at least 1 ms per 100 ms period)."""
    try:
        cores = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a share of cores: {text!r}") from None
    if not 0.01 <= cores <= len(os.sched_getaffinity(0)):
        raise argparse.ArgumentTypeError(f"a node's CPU must be 0.01 to all cores: {text!r}")
    return cores


def default_node_cpu(cores: int) -> float:
    """Two nodes share what one core for the load generator, nginx and PostgreSQL leaves,
    each at most a whole core (one process: the GIL keeps it to about one anyway)."""
    return min(1.0, max(cores - 1, 1) / 2)


def even_up(value: float) -> int:
    """The even call count at or above `value` (half speech, half keypad)."""
    return 2 * math.ceil(value / 2 - 1e-9)


def two_node_levels(one_levels: list[int], carried_one: int) -> list[int]:
    """Where to look for 2 nodes' knee: at the goal (1.8 ×) and at twice what 1 node carried,
    then at twice the 1-node levels above it (the first of which fell behind); twice every
    1-node level when 1 node carried none."""
    if not carried_one:
        return [2 * n for n in one_levels]
    above = [2 * n for n in one_levels if n > carried_one][:1]
    return sorted({even_up(GOAL_RATIO * carried_one), 2 * carried_one, *above})


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


CGROUPS = Path("/sys/fs/cgroup")
PERIOD_US = 100_000
"""The quota's period: a node at 0.5 core may run 50 ms of each 100 ms."""
PRECEDENCE = 10
"""A bench group's weight against a process outside them (the machine's other users): a
node's quota is its own, and the load generator, nginx and PostgreSQL get what they need
(a generator that waits for the CPU sends its frames late, and the level is no figure)."""


def cpu_stat(text: str) -> dict[str, int]:
    """A cgroup's cpu.stat (`nr_periods 31` per line, v1 and v2 alike) as numbers."""
    return {name: int(value) for name, value in (line.split() for line in text.splitlines())}


def quota_us(cores: float) -> int:
    """A quota of `cores` as microseconds of CPU per PERIOD_US."""
    return round(cores * PERIOD_US)


@dataclass
class Cgroup:
    """A cgroup this bench made: the CPU its processes used, how often the quota (if any)
    stopped them, and the quota itself. cgroup v2 is one directory; v1 splits the quota
    (cpu) from the accounting (cpuacct), which may be one directory mounted twice."""

    path: Path
    """v2: the group; v1: the group in the cpu hierarchy."""
    accounting: Path | None = None
    """v1 only: the group in the cpuacct hierarchy."""

    @classmethod
    def create(cls, name: str, cores: float | None) -> Cgroup:
        """A new group `name` with precedence over the machine's other users (`cores`: its
        CPU quota; None: no quota)."""
        if (CGROUPS / "cgroup.controllers").exists():  # v2
            if "cpu" not in (CGROUPS / "cgroup.subtree_control").read_text().split():
                (CGROUPS / "cgroup.subtree_control").write_text("+cpu")
            group = cls(CGROUPS / name)
            group.path.mkdir()
            (group.path / "cpu.weight").write_text(str(100 * PRECEDENCE))
            if cores is not None:
                (group.path / "cpu.max").write_text(f"{quota_us(cores)} {PERIOD_US}")
            return group
        if not (CGROUPS / "cpu" / "cpu.cfs_quota_us").exists():
            raise SystemExit(f"needs the cgroup CPU controller (v1 or v2) under {CGROUPS}")
        group = cls(CGROUPS / "cpu" / name, CGROUPS / "cpuacct" / name)
        group.path.mkdir()
        assert group.accounting is not None
        group.accounting.mkdir(exist_ok=True)  # exists when cpu and cpuacct are one hierarchy
        (group.path / "cpu.shares").write_text(str(1024 * PRECEDENCE))
        if cores is not None:
            (group.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group.path / "cpu.cfs_quota_us").write_text(str(quota_us(cores)))
        return group

    def directories(self) -> list[Path]:
        extra = [self.accounting] if self.accounting and self.accounting.exists() else []
        return [self.path, *(d for d in extra if d.resolve() != self.path.resolve())]

    def add(self, pid: int) -> None:
        """Move process `pid` (with all its threads; its children are born inside)."""
        for directory in self.directories():
            (directory / "cgroup.procs").write_text(str(pid))

    def cpu_seconds(self) -> float:
        """CPU time its processes used, including those that have ended."""
        if self.accounting is None:
            return cpu_stat((self.path / "cpu.stat").read_text())["usage_usec"] / 1e6
        return int((self.accounting / "cpuacct.usage").read_text()) / 1e9

    def throttling(self) -> tuple[int, int]:
        """(quota periods in which it ran, of those the periods it was stopped in)."""
        stat = cpu_stat((self.path / "cpu.stat").read_text())
        return stat["nr_periods"], stat["nr_throttled"]

    def remove(self) -> None:
        """Remove the group, first moving out any process still in it (a dying node's)."""
        for directory in self.directories():
            deadline = time.monotonic() + 10
            while True:
                try:
                    directory.rmdir()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    for pid in (directory / "cgroup.procs").read_text().split():
                        with suppress(ProcessLookupError):  # it ended meanwhile
                            (directory.parent / "cgroup.procs").write_text(pid)
                    time.sleep(0.1)


@contextmanager
def cgroup(name: str, cores: float | None) -> Iterator[Cgroup]:
    """A cgroup that is removed after, also on failure or Ctrl-C."""
    group = Cgroup.create(f"civicline-bench-{os.getpid()}-{name}", cores)
    try:
        yield group
    finally:
        group.remove()


@contextmanager
def inside(group: Cgroup) -> Iterator[None]:
    """This process (the load generator) and what it starts from now on (nginx, PostgreSQL)
    inside `group`, and back in the group it came from after."""
    before = [own_group(d.parent) for d in group.directories()]
    group.add(os.getpid())
    try:
        yield
    finally:
        for directory in before:
            (directory / "cgroup.procs").write_text(str(os.getpid()))


def own_group(hierarchy: Path) -> Path:
    """The group this process is in, in the hierarchy mounted at `hierarchy`
    (/sys/fs/cgroup/cpu or …/cpu,cpuacct for v1, /sys/fs/cgroup for v2)."""
    controllers = set(hierarchy.resolve().name.split(",")) if hierarchy != CGROUPS else {""}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if set(names.split(",")) == controllers:
            return hierarchy / path.lstrip("/")
    raise SystemExit(f"this process is in no group of {hierarchy}")


@dataclass
class Node:
    """One `ivr serve` (gunicorn arbiter and worker, in a process group of its own)."""

    port: int
    data_dir: Path
    cgroup: Cgroup
    """Its CPU quota; the master and the worker it forks run inside from their start."""
    process: subprocess.Popen[bytes] | None = None

    def start(self, environment: dict[str, str], threads: int) -> None:
        ivr = str(Path(sys.executable).with_name("ivr"))
        self.process = subprocess.Popen(
            [ivr, "serve", "--port", str(self.port), "--threads", str(threads)],
            env={**environment, "CIVICLINE_DATA_DIR": str(self.data_dir)},
            cwd=self.data_dir,
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / "serve.log").open("ab"),
            start_new_session=True,
            preexec_fn=lambda: self.cgroup.add(os.getpid()),  # the bench runs no thread now
        )

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
    """nginx in front of the running nodes: what run_level needs of a server, and the group
    of the bench's own processes (load generator, nginx, PostgreSQL) for their CPU."""

    base: str
    nodes: list[Node]
    rest: Cgroup

    def cpu_seconds(self) -> float:
        """CPU time the nodes' processes used, summed."""
        return sum(node.cgroup.cpu_seconds() for node in self.nodes)

    def usage(self) -> Usage:
        ticks = os.sysconf("SC_CLK_TCK")
        busy, idle = machine_ticks(Path("/proc/stat").read_text())
        return Usage(
            at=asyncio.get_running_loop().time(),
            nodes=tuple(node.cgroup.cpu_seconds() for node in self.nodes),
            throttling=tuple(node.cgroup.throttling() for node in self.nodes),
            rest=self.rest.cpu_seconds(),
            generator=sum(os.times()[:2]),
            busy=busy / ticks,
            idle=idle / ticks,
        )


@dataclass(frozen=True)
class Usage:
    """CPU seconds used so far, at loop time `at`."""

    at: float
    nodes: tuple[float, ...]
    throttling: tuple[tuple[int, int], ...]
    """Each node's (quota periods it ran in, periods it was stopped in)."""
    rest: float
    """The bench's own processes: the load generator, nginx, PostgreSQL."""
    generator: float
    busy: float
    """The machine, all cores: every process's and the kernel's."""
    idle: float


@dataclass(frozen=True)
class Shares:
    """CPU between two Usages, in cores (CPU seconds per second)."""

    nodes: tuple[float, ...]
    throttled: tuple[float, ...]
    """Each node's share of quota periods in which the quota stopped it."""
    generator: float
    nginx_postgres: float
    others: float
    """Processes not the bench's: the other users of the machine."""
    idle: float


def machine_ticks(proc_stat: str) -> tuple[int, int]:
    """(busy, idle) clock ticks of all cores since boot, from /proc/stat's `cpu` line;
    waiting for I/O is idle, time stolen by the hypervisor is busy."""
    fields = [int(f) for f in proc_stat.splitlines()[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal, idle + iowait


def shares(first: Usage, last: Usage) -> Shares:
    seconds = last.at - first.at

    def per_second(before: float, after: float) -> float:
        return (after - before) / seconds

    nodes = tuple(map(per_second, first.nodes, last.nodes))
    rest = per_second(first.rest, last.rest)
    generator = per_second(first.generator, last.generator)
    throttled = tuple(
        (after[1] - before[1]) / max(after[0] - before[0], 1)
        for before, after in zip(first.throttling, last.throttling, strict=True)
    )
    return Shares(
        nodes=nodes,
        throttled=throttled,
        generator=generator,
        nginx_postgres=rest - generator,
        others=max(0.0, per_second(first.busy, last.busy) - sum(nodes) - rest),
        idle=per_second(first.idle, last.idle),
    )


IDLE_MARGIN = 0.1
"""Cores the machine must have left idle for the nodes' quotas to count as theirs."""


def budget_there(used: Shares) -> bool:
    """Whether a node that wanted its quota could have had it: the machine was not full.
    (A full machine can hold a node below its quota: the other processes took the CPU.)"""
    return used.idle >= IDLE_MARGIN


def describe(used: Shares, ports: list[int], quota: float) -> str:
    nodes = ", ".join(
        f":{port} {cores:.2f} of {quota:.2f} (stopped by the quota in {stopped:.0%} of periods)"
        for port, cores, stopped in zip(ports, used.nodes, used.throttled, strict=True)
    )
    verdict = (
        "the nodes' budget was there"
        if budget_there(used)
        else f"the machine was full (idle < {IDLE_MARGIN} core): the nodes' budget was not"
        " all there"
    )
    return (
        f"CPU in cores: nodes {nodes}; load generator {used.generator:.2f}, nginx + PostgreSQL"
        f" {used.nginx_postgres:.2f}, others {used.others:.2f}, idle {used.idle:.2f} —"
        f" {verdict}"
    )


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
    root: Path, environment: dict[str, str], count: int, cores: float, threads: int, rest: Cgroup
) -> Iterator[Front]:
    """`count` `ivr serve`, each in a cgroup of its own with a quota of `cores`, behind
    nginx; all stopped and their groups removed after."""
    with ExitStack() as stack:
        nodes = []
        for i in range(count):
            data_dir = root / f"{count}-nodes-{i}"
            shutil.copytree(root / "prompts-built" / "prompts", data_dir / "prompts")
            group = stack.enter_context(cgroup(f"{count}-nodes-{i}", cores))
            nodes.append(Node(free_port(), data_dir, group))
        nginx_root = root / f"nginx-{count}"
        nginx_root.mkdir()
        try:
            for node in nodes:
                node.start(environment, threads)
            for node in nodes:
                assert node.process is not None
                wait_for(f"http://127.0.0.1:{node.port}/health", node.process)
            with running_nginx(nginx_root, nodes) as url:
                yield Front(url, nodes, rest)
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
    unmeasured: int | None = None
    """The level the load generator fell behind at: the knee lies there or above."""


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
) -> tuple[list[streams.Level], Shares | None]:
    """Half the callers speak, half press keys, all arriving within `spread` seconds; the
    CPU used while all were on a call (None if that window held under two samples)."""
    samples: list[Usage] = []

    async def sample() -> None:
        while True:
            samples.append(front.usage())
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample())
    levels = list(
        await asyncio.gather(
            streams.run_level(front, words, count // 2, False, spread),
            streams.run_level(front, words, count - count // 2, True, spread),
        )
    )
    sampler.cancel()
    first, last = max(lv.window[0] for lv in levels), min(lv.window[1] for lv in levels)
    inside = [usage for usage in samples if first <= usage.at <= last]
    return levels, shares(inside[0], inside[-1]) if len(inside) > 1 else None


def scale(
    front: Front, words: dict[str, list[str]], counts: list[int], spread: float, quota: float
) -> Scaling:
    result = Scaling(len(front.nodes))
    base = asyncio.run(alone(front, words))
    result.call_seconds = base["seconds"]
    print(
        f"{result.nodes} node(s), {quota:.2f} core each: 1 call alone {base['seconds']:.0f} s,"
        f" EoS→reply p50 {base['EoS'] * 1000:.0f} ms, key→reply p50"
        f" {base['key'] * 1000:.0f} ms; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    steps: list[tuple[int, bool]] = []
    for count in counts:
        levels, used = asyncio.run(mixed_level(front, words, count, spread * base["seconds"]))
        speech, keypad = levels
        p95 = {
            "EoS": streams.percentile(speech.all("eos_to_reply"), 0.95),
            "key": streams.percentile(keypad.all("key_to_reply"), 0.95),
        }
        failed = [c.error for level in levels for c in level.calls if c.error]
        lag = streams.percentile(speech.all("lateness") + keypad.all("lateness"), 0.99)
        reasons = [
            *(["replies late"] if any(p95[k] - base[k] > streams.LAG_LIMIT for k in p95) else []),
            *([f"{len(failed)} failed"] if failed else []),
            *([GENERATOR_BEHIND] if lag > streams.GENERATOR_LAG_LIMIT else []),
        ]
        steps.append((count, not reasons))
        print(
            f"  {count:>3} calls ({sum(len(level.calls) for level in levels)} placed):"
            f" EoS→reply p95 {p95['EoS'] * 1000:.0f} ms, key→reply p95 {p95['key'] * 1000:.0f}"
            f" ms, generator lag p99 {lag * 1000:.0f} ms, failed {len(failed)}, load average"
            f" {os.getloadavg()[0]:.2f}" + (f" — behind: {', '.join(reasons)}" if reasons else ""),
            flush=True,
        )
        ports = [node.port for node in front.nodes]
        print("      " + ("no CPU window" if used is None else describe(used, ports, quota)))
        for reason in sorted({str(f) for f in failed})[:3]:
            print(f"      failed: {reason}")
        if reasons:
            if reasons == [GENERATOR_BEHIND]:
                result.unmeasured = count
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
            f" held by the nodes then: {held}",
            flush=True,
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
        f" p95 {streams.percentile(silences, 0.95):.1f} s",
        flush=True,
    )
    for reason in sorted({str(call.error) for call in calls if call.error})[:3]:
        print(f"      failed: {reason}")


def main() -> None:
    arguments = parse_arguments()
    streams.CALLS_PER_CALLER = arguments.calls_per_caller  # its callers read it as they call
    calibrate(arguments.cpus)
    if not NGINX.exists() or not shutil.which("espeak-ng"):
        raise SystemExit("needs nginx (Debian's package) and espeak-ng")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    cores = len(os.sched_getaffinity(0))
    print(
        f"each node a CPU quota of {arguments.node_cpu:.2f} core (cgroup, {PERIOD_US // 1000}"
        f" ms periods) on {cores} core(s); load generator, nginx and PostgreSQL without"
        f" quota; all {PRECEDENCE}× the weight of the machine's other processes;"
        f" load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    words = {w: streams.frames_of(streams.spoken(w)) for w in ("나무", "한국어")}
    words["description"] = streams.frames_of(
        streams.spoken("나무가 길에 쓰러졌습니다 빨리 와 주세요")
    )
    with cgroup("rest", None) as rest, inside(rest):
        measure(arguments, words, rest)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


def measure(arguments: argparse.Namespace, words: dict[str, list[str]], rest: Cgroup) -> None:
    """The scaling and the node failure, as the arguments ask."""
    quota = arguments.node_cpu
    largest = max(arguments.levels_two or [2 * max(arguments.levels)])
    threads = max(largest, arguments.failure_calls) + 16
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
        spread = arguments.spread
        try:
            if not arguments.no_scaling:
                with running_nodes(root, environment, 1, quota, threads, rest) as front:
                    one = scale(front, words, arguments.levels, spread, quota)
            with running_nodes(root, environment, 2, quota, threads, rest) as front:
                if arguments.no_scaling:
                    call_seconds = asyncio.run(alone(front, words))["seconds"]
                else:
                    counts = arguments.levels_two or two_node_levels(arguments.levels, one.carried)
                    two = scale(front, words, counts, spread, quota)
                    print(summary(one, two), flush=True)
                    call_seconds = two.call_seconds
                if not arguments.no_failure:
                    fail_over(
                        front, words, arguments.failure_calls, spread * call_seconds, database
                    )
        finally:
            database.dispose()


def summary(one: Scaling, two: Scaling) -> str:
    def figure(result: Scaling) -> str:
        p95 = result.p95
        text = f"{result.nodes} node(s) {result.carried}"
        if p95:
            text += (
                f" (EoS→reply p95 {p95['EoS'] * 1000:.0f} ms, key→reply p95"
                f" {p95['key'] * 1000:.0f} ms)"
            )
        if result.unmeasured is not None:
            text += f" or more: at {result.unmeasured} {GENERATOR_BEHIND}, not the node(s)"
        return text

    share = ratio(two.carried, one.carried)
    unmeasured = one.unmeasured is not None or two.unmeasured is not None
    return (
        f"carried calls: {figure(one)}, {figure(two)}; ratio"
        f" {'n/a' if share is None or unmeasured else f'{share:.2f}'} (goal ≥ {GOAL_RATIO})"
    )


if __name__ == "__main__":
    main()
