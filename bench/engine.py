"""Benchmarks of the call engine, the call shell with storage, and the job worker.

Prints the figures bench/README.md defines: engine events per second and per-event latency,
complete simulated calls per second on SQLite and PostgreSQL (sequential and concurrent),
jobs per second through the worker, and peak memory. Seeded and deterministic apart from
the machine's own noise; run it with `make bench` or `.venv/bin/python bench/engine.py`.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy

ROOT = Path(__file__).resolve().parents[1]
# bench/ itself must not be on the path (bench/speech.py would shadow the speech package);
# tests/ holds the throwaway PostgreSQL server.
sys.path[0:1] = [str(ROOT), str(ROOT / "tests")]

from bench.calibration import add_arguments, calibrate  # noqa: E402
from bench.report import Better, Figure, emit  # noqa: E402
from ivr.channels.terminal import TerminalCall, parse_input  # noqa: E402
from ivr.engine import actions as act  # noqa: E402
from ivr.engine import events as ev  # noqa: E402
from ivr.engine.session import CallSession  # noqa: E402
from ivr.jobs import Worker  # noqa: E402
from ivr.recordings import Recordings  # noqa: E402
from ivr.storage.db import Database  # noqa: E402
from ivr.storage.directory import sync_departments  # noqa: E402
from ivr.storage.queue import enqueue  # noqa: E402
from menus.loader import load_flow  # noqa: E402
from menus.registry import FlowRegistry  # noqa: E402
from speech.intents import PhraseMatcher  # noqa: E402

try:
    from ivr.calls.runner import CallServices
except ImportError:  # before 004ec28 grouped ivr/ by feature; bench.compare runs older commits
    from ivr.calls import CallServices  # type: ignore[attr-defined,no-redef]

CALL_SCRIPT = ("1", "say:pothole", "3", "say:a deep hole in front of the school", "1", "2")
"""The benchmark call: report a pothole (keys and speech), describe it, confirm, hang up."""
TUESDAY_10_BUCHAREST = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def recorded_call_events() -> list[ev.Event]:
    """The events of the benchmark call, recorded once through a session and a tiny fake shell."""
    flow = load_flow(ROOT / "callflows.yaml").flow
    session = CallSession(flow, PhraseMatcher())
    at = TUESDAY_10_BUCHAREST
    fed: list[ev.Event] = []

    def feed(event: ev.Event) -> None:
        queue = [event]
        while queue:
            current = queue.pop(0)
            fed.append(current)
            for action in session.handle(current):
                if isinstance(action, act.Say):
                    queue.append(ev.PromptFinished(at=current.at, mark=action.mark))
                elif isinstance(action, act.CreateTicket):
                    queue.append(ev.TicketCreated(at=current.at, ref="26-000001", pin="1234"))

    feed(
        ev.CallStarted(
            at=at, call_id="bench", caller="+40722111222", channel="bench", language="en"
        )
    )
    for step, line in enumerate(CALL_SCRIPT, start=1):
        now = at + timedelta(seconds=2 * step)
        parsed = parse_input(line)
        if session.node == "report_description":
            feed(
                ev.RecordingFinished(at=now, recording_id=None, seconds=4, transcript=parsed.value)
            )
        elif parsed.kind == "keys":
            feed(ev.DigitsPressed(at=now, digits=parsed.value))
        else:
            feed(ev.SpeechRecognized(at=now, text=parsed.value))
    assert session.outcome == "ticket", session.outcome
    return fed


def bench_engine(calls: int) -> dict[str, float]:
    events = recorded_call_events()
    flow = load_flow(ROOT / "callflows.yaml").flow
    matcher = PhraseMatcher()
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(calls):
        session = CallSession(flow, matcher)
        for event in events:
            t0 = time.perf_counter()
            session.handle(event)
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return {
        "events per call": len(events),
        "events/s": len(latencies) / elapsed,
        "p50 µs": percentile(latencies, 0.50) * 1e6,
        "p99 µs": percentile(latencies, 0.99) * 1e6,
    }


def one_call(
    services: CallServices, recordings: Recordings, number: int, turns: list[float]
) -> float:
    """One scripted call; appends each input's turn time to `turns`, returns the call's."""
    t0 = time.perf_counter()
    phone = TerminalCall(
        services=services,
        recordings=recordings,
        show=lambda action: None,
        now=TUESDAY_10_BUCHAREST + timedelta(minutes=number % 400),
        simulated=True,
    )
    phone.start(caller=f"+4072{number:07d}", language="en")
    for line in CALL_SCRIPT:
        turn_started = time.perf_counter()
        phone.answer(parse_input(line))
        turns.append(time.perf_counter() - turn_started)
    phone.hang_up()
    assert phone.summary()["outcome"] == "ticket"
    return time.perf_counter() - t0


def bench_calls(url: str, data_dir: Path, calls: int, threads: int) -> dict[str, float]:
    database = Database(url)
    database.upgrade()
    flows = FlowRegistry(ROOT / "callflows.yaml")
    with database.session() as session:
        sync_departments(session, flows.current().flow, datetime.now(UTC))
    services = CallServices(database=database, flows=flows, matcher=PhraseMatcher())
    recordings = Recordings.local(database, data_dir / "recordings")
    one_call(services, recordings, 0, [])  # warm up: imports, connections, first flow version
    commits, lazy = itertools.count(), itertools.count()
    sqlalchemy.event.listen(database.engine, "commit", lambda _connection: next(commits))
    sqlalchemy.event.listen(
        database.engine,
        "before_cursor_execute",
        lambda *call: "synchronous_commit" in call[2] and next(lazy),
    )
    turns: list[float] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        durations = list(
            pool.map(lambda n: one_call(services, recordings, n, turns), range(1, calls + 1))
        )
    elapsed = time.perf_counter() - started
    committed, not_waited = next(commits), next(lazy)
    database.dispose()
    return {
        "commits per call": committed / calls,
        "commits waiting for the disk per call": (committed - not_waited) / calls,
        "calls/s": calls / elapsed,
        "call p50 ms": percentile(durations, 0.50) * 1e3,
        "call p95 ms": percentile(durations, 0.95) * 1e3,
        "turn p50 ms": percentile(turns, 0.50) * 1e3,
        "turn p95 ms": percentile(turns, 0.95) * 1e3,
    }


def bench_jobs(url: str, jobs: int, workers: int) -> dict[str, float]:
    database = Database(url)
    database.upgrade()
    ran: list[int] = []
    lock = threading.Lock()

    def handler(payload: dict[str, Any]) -> None:
        with lock:
            ran.append(payload["n"])

    with database.session() as session:
        for n in range(jobs):
            enqueue(session, "bench.noop", {"n": n}, at=datetime.now(UTC))

    def drain(worker_id: str) -> None:
        worker = Worker(database, {"bench.noop": handler}, worker_id=worker_id)
        while worker.run_once():
            pass

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(drain, [f"bench-{i}" for i in range(workers)]))
    elapsed = time.perf_counter() - started
    database.dispose()
    assert sorted(ran) == list(range(jobs)), "a job ran twice or not at all"
    return {"jobs/s": jobs / elapsed}


@contextmanager
def databases(with_postgres: bool) -> Iterator[list[tuple[str, Callable[[str], str]]]]:
    """(name, make_url(label)) per database to measure; PostgreSQL with fsync on."""
    with tempfile.TemporaryDirectory() as tmp:
        dialects: list[tuple[str, Callable[[str], str]]] = [
            ("sqlite", lambda label: f"sqlite:///{tmp}/{label}.db")
        ]
        if not with_postgres:
            yield dialects
            return
        from pgserver import running_postgres  # the tests' throwaway server, only needed here

        with running_postgres() as server:
            dialects.append(("postgresql", server.create_database))
            yield dialects


def better_way(key: str) -> Better:
    """Which way a figure is better, by its unit: rates up, times and memory down."""
    if key.endswith("/s"):
        return "higher"
    if key.endswith((" ms", " µs", " MiB")):
        return "lower"
    return None  # a count that describes the run, such as the events of one call


def figures_of(label: str, measured: dict[str, float]) -> list[Figure]:
    """One benchmark's figures, named `label: key`."""
    return [Figure(f"{label}: {key}", value, better_way(key)) for key, value in measured.items()]


def storage_figures(args: argparse.Namespace) -> list[Figure]:
    """Whole calls and jobs through storage, on SQLite (and PostgreSQL unless --no-postgres)."""
    figures: list[Figure] = []
    with databases(not args.no_postgres) as dialects, tempfile.TemporaryDirectory() as data:
        for name, make_url in dialects:
            for threads in (1, 4):
                url = make_url(f"calls_{threads}")
                measured = bench_calls(url, Path(data), args.calls, threads)
                figures += figures_of(f"calls on {name}, {threads} thread(s)", measured)
            for workers in (1, 2):
                url = make_url(f"jobs_{workers}")
                measured = bench_jobs(url, args.jobs, workers)
                figures += figures_of(f"jobs on {name}, {workers} worker(s)", measured)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine-calls", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--only", choices=("engine", "storage"), help="the engine alone, or calls and jobs"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object (bench.compare)")
    add_arguments(parser)
    args = parser.parse_args()

    calibration = calibrate(args.cpus, to_stderr=args.json)
    figures: list[Figure] = []
    if args.only != "storage":
        figures += figures_of("engine (no storage)", bench_engine(args.engine_calls))
    if args.only != "engine":
        figures += storage_figures(args)
        # the whole shell's memory; alone, the engine's would be mostly the modules imported
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures.append(Figure("peak resident memory: MiB", peak, "lower"))
    emit(calibration, figures, as_json=args.json)


if __name__ == "__main__":
    main()
