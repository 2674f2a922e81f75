"""bench/sip_load.py: how many SIP calls `ivr sip` nodes carry before outbound RTP falls behind.

A SIPp ramp (steps of concurrent calls) through Kamailio (deploy/kamailio.cfg) against one
node, then two nodes behind the dispatcher. Each call hears the demo flow's welcome and
recording notice for --seconds, sends no audio, and hangs up. Our RTP goes to sockets of this
script (the calls' SDP names them), stamped by the kernel on arrival (SO_TIMESTAMPNS).
Then the failover run: two nodes take --failover-rate calls a second, one is killed with
SIGKILL, and the calls of the next 30 s are counted and timed. Figures are defined in
bench/README.md. Nodes run on core 0 (one node) or cores 0 and 1 (two nodes); SIPp and the
receiver run on core 1.

    .venv/bin/python bench/sip_load.py [--steps 10,20,30,40,60] [--seconds 10] [--only failover]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import selectors
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:1] = [str(ROOT)]  # bench/ itself stays off the path (see bench/engine.py)

from bench.calibration import add_arguments, calibrate  # noqa: E402
from menus.loader import load_flow  # noqa: E402
from speech.prompts import build  # noqa: E402
from speech.synthesis import Synthesizer  # noqa: E402

FALLING_BEHIND_MS = 40.0
WARM_SECONDS = 5
"""Failover run: calls placed before the kill, so that calls are in progress on both nodes."""
AFTER_SECONDS = 30
HOLD_SECONDS = 1.0
"""Failover run: each call's length (answered, then hung up)."""
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
"""Kernel receive timestamps (Linux's value; Python does not always name it)."""
PASSWORD = "bench-secret"
SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="listener">
  <send retrans="500"><![CDATA[
INVITE sip:civicline@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:+40722[field0]@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:civicline@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:load@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=load 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio [field0] RTP/AVP 0 96
a=rtpmap:0 PCMU/8000
a=rtpmap:96 telephone-event/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:+40722[field0]@[local_ip]:[local_port]>;tag=[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
  <pause milliseconds="{ms}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:+40722[field0]@[local_ip]:[local_port]>;tag=[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200" timeout="10000"/>
</scenario>
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if found is None:
        sys.exit(f"{name} is not installed (make test-system-packages)")
    return found


def pinned(core: int | None, command: list[str]) -> list[str]:
    if core is None or os.cpu_count() == 1:
        return command
    return ["taskset", "-c", str(core), *command]


@contextmanager
def process(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_for(log: Path, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            sys.exit(f"{log.name}: no {text!r} after {seconds} s:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)


class Receiver:
    """One UDP socket per call; every datagram's kernel arrival time, per socket."""

    def __init__(self, count: int) -> None:
        self.sockets: list[socket.socket] = []
        self.selector = selectors.DefaultSelector()
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
            self.sockets.append(sock)
        self.arrivals: dict[int, list[int]] = {s.getsockname()[1]: [] for s in self.sockets}

    @property
    def ports(self) -> list[int]:
        return list(self.arrivals)

    def run_until(self, done: subprocess.Popen[bytes]) -> None:
        size = struct.calcsize("qq")
        while done.poll() is None:
            for key, _ in self.selector.select(timeout=0.2):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                while True:
                    try:
                        _, ancillary, _, _ = sock.recvmsg(2048, socket.CMSG_SPACE(size))
                    except BlockingIOError:
                        break
                    for level, kind, data in ancillary:
                        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                            seconds, nanos = struct.unpack("qq", data[:size])
                            self.arrivals[sock.getsockname()[1]].append(seconds * 10**9 + nanos)

    def gaps_ms(self, skip_ms: float = 500) -> list[float]:
        gaps: list[float] = []
        for times in self.arrivals.values():
            if not times:
                continue
            start = times[0] + skip_ms * 1e6
            gaps += [(b - a) / 1e6 for a, b in itertools.pairwise(times) if a >= start]
        return gaps

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def step(
    folder: Path, kamailio_port: int, calls: int, seconds: float, rate: int
) -> dict[str, float]:
    receiver = Receiver(calls)
    (folder / "ports.csv").write_text("SEQUENTIAL\n" + "".join(f"{p}\n" for p in receiver.ports))
    (folder / "listener.xml").write_text(SCENARIO.format(ms=int(seconds * 1000)))
    stats = folder / f"stats-{calls}.csv"
    rtt = folder / f"rtt-{calls}.csv"
    sipp = subprocess.Popen(
        pinned(
            1,
            [
                binary("sipp"),
                "-sf",
                str(folder / "listener.xml"),
                "-inf",
                str(folder / "ports.csv"),
                f"127.0.0.1:{kamailio_port}",
                "-i",
                "127.0.0.1",
                "-p",
                str(free_port()),
                "-m",
                str(calls),
                "-l",
                str(calls),
                "-r",
                str(rate),
                "-nostdin",
                "-timeout",
                str(int(seconds + calls / rate + 30)),
                "-trace_stat",
                "-stf",
                str(stats),
                "-trace_rtt",
                "-rtt_freq",
                "1",
                "-trace_err",
            ],
        ),
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    receiver.run_until(sipp)
    receiver.close()
    header, *rows = stats.read_text().strip().splitlines()
    last = dict(zip(header.split(";"), rows[-1].split(";"), strict=False))
    rtt_lines = next(folder.glob("*_rtt.csv")).read_text().splitlines()[1:]
    setups = [float(line.split(";")[1]) for line in rtt_lines if line.count(";") == 2]
    for path in folder.glob("*_rtt.csv"):
        path.rename(rtt)
    gaps = receiver.gaps_ms()
    return {
        "calls": calls,
        "ok": float(last.get("SuccessfulCall(C)", 0)),
        "failed": float(last.get("FailedCall(C)", 0)),
        "gap_p50": percentile(gaps, 0.50),
        "gap_p99": percentile(gaps, 0.99),
        "gap_max": max(gaps, default=float("nan")),
        "setup_p50": statistics.median(setups) if setups else float("nan"),
        "setup_p95": percentile(setups, 0.95),
        "setup_max": max(setups, default=float("nan")),
        "silent": float(sum(1 for t in receiver.arrivals.values() if not t)),
    }


@dataclass
class Cluster:
    """Kamailio and its nodes, running."""

    folder: Path
    kamailio_port: int
    ports: list[int]
    nodes: list[subprocess.Popen[bytes]]

    def states(self) -> dict[str, str]:
        """Each node's dispatcher flags ("AP": active; "IP": inactive), by node port."""
        done = subprocess.run(
            [binary("kamcmd"), "-s", f"unix:{self.folder / 'kamailio.ctl'}", "dispatcher.list"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        found = re.findall(r"URI: sip:127\.0\.0\.1:(\d+)\s+FLAGS: (\w+)", done.stdout)
        return {int(port): flags for port, flags in found}

    def wait_until(self, up: list[int], down: list[int], seconds: float = 30) -> float:
        """Seconds until the nodes in `up` are active and those in `down` inactive."""
        start = time.monotonic()
        while True:
            states = self.states()
            if all(states[p].startswith("A") for p in up) and all(
                states[p].startswith("I") for p in down
            ):
                return time.monotonic() - start
            if time.monotonic() - start > seconds:
                sys.exit(f"dispatcher: not {up} up and {down} down after {seconds} s: {states}")
            time.sleep(0.05)


@contextmanager
def cluster(folder: Path, nodes: int, data: Path) -> Iterator[Cluster]:
    """Kamailio with deploy/kamailio.cfg and `nodes` `ivr sip` processes, all of them up."""
    ports = [free_port() for _ in range(nodes)]
    listing = folder / "dispatcher.list"
    listing.write_text("".join(f"1 sip:127.0.0.1:{port}\n" for port in ports))
    kamailio_port = free_port()
    with ExitStack() as stack:
        stack.enter_context(
            process(
                pinned(
                    1,
                    [
                        binary("kamailio"),
                        "-f",
                        str(ROOT / "deploy" / "kamailio.cfg"),
                        "-DD",
                        "-E",
                        "-w",
                        str(folder),
                        "-A",
                        f"LISTEN=udp:127.0.0.1:{kamailio_port}",
                        "-A",
                        f'DISPATCHER_LIST="{listing}"',
                        "-A",
                        f'CTL_SOCKET="unix:{folder / "kamailio.ctl"}"',
                    ],
                ),
                folder / "kamailio.log",
                {"CIVICLINE_SIP_PASSWORD": PASSWORD},
            )
        )
        wait_for(folder / "kamailio.log", "Listening on")
        children = []
        for number, port in enumerate(ports):
            low = 30000 + 2000 * number
            log = folder / f"node-{number}.log"
            children.append(
                stack.enter_context(
                    process(
                        pinned(
                            number if nodes > 1 else 0,
                            [str(ROOT / ".venv" / "bin" / "ivr"), "sip"],
                        ),
                        log,
                        {
                            "CIVICLINE_DATA_DIR": str(data),
                            "CIVICLINE_FLOW_PATH": str(ROOT / "callflows.yaml"),
                            "CIVICLINE_SIP_REGISTRAR_PORT": str(kamailio_port),
                            "CIVICLINE_SIP_PORT": str(port),
                            "CIVICLINE_SIP_USER": f"civicline-{number}",
                            "CIVICLINE_SIP_PASSWORD": PASSWORD,
                            "CIVICLINE_SIP_ACCEPT_USERS": '["civicline"]',
                            "CIVICLINE_SIP_MEDIA_TIMEOUT": "120",
                            "CIVICLINE_SIP_RTP_PORT_MIN": str(low),
                            "CIVICLINE_SIP_RTP_PORT_MAX": str(low + 1999),
                            "CIVICLINE_LOG_LEVEL": "INFO",
                        },
                    )
                )
            )
            wait_for(log, "registered at")
        running = Cluster(folder, kamailio_port, ports, children)
        running.wait_until(up=ports, down=[])  # a ping sent before a node listened took it out
        yield running


def ramp(folder: Path, nodes: int, steps: list[int], seconds: float, rate: int, data: Path) -> None:
    with cluster(folder, nodes, data) as running:
        print(
            f"\n{nodes} node(s): {'calls':>5} {'ok':>4} {'failed':>6} {'silent':>6} "
            f"{'gap p50':>8} {'gap p99':>8} {'gap max':>8} {'set-up p50':>10} {'p95':>6}"
        )
        held = 0
        for calls in steps:
            row = step(folder, running.kamailio_port, calls, seconds, rate)
            fine = row["failed"] == 0 and row["silent"] == 0 and row["gap_p99"] <= FALLING_BEHIND_MS
            held = calls if fine else held
            verdict = "" if fine else "  <- falls behind"
            print(
                f"{'':>10} {calls:>5} {row['ok']:>4.0f} {row['failed']:>6.0f} "
                f"{row['silent']:>6.0f} {row['gap_p50']:>6.1f}ms {row['gap_p99']:>6.1f}ms "
                f"{row['gap_max']:>6.0f}ms {row['setup_p50']:>8.1f}ms "
                f"{row['setup_p95']:>4.0f}ms{verdict}",
                flush=True,
            )
            if not fine:
                break
            time.sleep(2)
        print(f"{nodes} node(s): most concurrent calls held = {held}")


def failover(folder: Path, rate: int, data: Path) -> None:
    """Two nodes take `rate` calls a second of HOLD_SECONDS each; after WARM_SECONDS one is
    killed (SIGKILL) and the calls placed in the next AFTER_SECONDS are counted and timed."""
    with cluster(folder, 2, data) as running:
        before, after = folder / "before", folder / "after"
        before.mkdir()
        after.mkdir()
        warm: dict[str, float] = {}
        load = threading.Thread(
            target=lambda: warm.update(
                step(before, running.kamailio_port, rate * WARM_SECONDS, HOLD_SECONDS, rate)
            )
        )
        load.start()
        time.sleep(WARM_SECONDS)
        running.nodes[1].kill()
        killed = time.monotonic()

        def mark_down() -> None:
            running.wait_until(up=running.ports[:1], down=running.ports[1:])
            warm["down"] = time.monotonic() - killed

        marker = threading.Thread(target=mark_down)
        marker.start()
        row = step(after, running.kamailio_port, rate * AFTER_SECONDS, HOLD_SECONDS, rate)
        load.join()
        marker.join()
    print(
        f"\nfailover: {rate} calls/s over 2 nodes, one killed (SIGKILL); the calls of the "
        f"next {AFTER_SECONDS} s:\n"
        f"  calls {row['calls']:.0f}, ok {row['ok']:.0f}, failed {row['failed']:.0f}; set-up "
        f"p50 {row['setup_p50']:.0f} ms, p95 {row['setup_p95']:.0f} ms, "
        f"max {row['setup_max']:.0f} ms\n"
        f"  dead node marked down {warm['down']:.1f} s after the kill; calls in progress when "
        f"it was killed (placed before): {warm['failed']:.0f} of {warm['calls']:.0f} failed",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="10,20,30,40,50,60,80")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each call")
    parser.add_argument("--rate", type=int, default=20, help="calls placed per second")
    parser.add_argument("--nodes", default="1,2")
    parser.add_argument("--failover-rate", type=int, default=5, help="calls/s of the failover run")
    parser.add_argument("--only", choices=["ramp", "failover"], help="one run instead of both")
    add_arguments(parser)
    args = parser.parse_args()
    calibrate(args.cpus)
    steps = [int(n) for n in args.steps.split(",")]
    with tempfile.TemporaryDirectory(prefix="sip-load-") as tmp:
        folder = Path(tmp)
        data = folder / "data"
        print("rendering the demo flow's prompts…", flush=True)
        with Synthesizer(timeout_seconds=30) as synthesizer:
            build(load_flow(ROOT / "callflows.yaml").flow, data / "prompts", synthesizer)
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "ivr"), "db", "upgrade"],
            env={**os.environ, "CIVICLINE_DATA_DIR": str(data)},
            check=True,
            capture_output=True,
        )
        if args.only != "failover":
            for nodes in (int(n) for n in args.nodes.split(",")):
                run = folder / f"nodes-{nodes}"
                run.mkdir()
                ramp(run, nodes, steps, args.seconds, args.rate, data)
        if args.only != "ramp":
            run = folder / "failover"
            run.mkdir()
            failover(run, args.failover_rate, data)


if __name__ == "__main__":
    main()
