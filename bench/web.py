"""Benchmark of the supervisor site: call log, call detail and dashboard page times over a
generated database of N calls (default 1,000,000) with their events, on SQLite and on
PostgreSQL. Figures are defined in bench/README.md; run `.venv/bin/python bench/web.py`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# bench/ itself off the path (bench/speech.py would shadow the speech package); the tests'
# folder on it, for their throwaway PostgreSQL server.
sys.path[0:1] = [str(ROOT), str(ROOT / "tests")]

from pgserver import running_postgres  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bench.calibration import add_arguments, calibrate  # noqa: E402
from ivr.config import Settings  # noqa: E402
from ivr.storage.calls import save_flow_version  # noqa: E402
from ivr.storage.directory import add_user  # noqa: E402
from ivr.storage.models import (  # noqa: E402
    Call,
    CallChoice,
    CallDayStats,
    CallEvent,
    CallHourOfDayStats,
    CallHourStats,
    CallWords,
    ChoiceDayStats,
    NodeDayStats,
    SmsOutbox,
    SurveyDayStats,
    Ticket,
    TicketDayStats,
)
from ivr.storage.search import words_of  # noqa: E402
from ivr.storage.tickets import format_ref  # noqa: E402
from ivr.web import create_app  # noqa: E402

DEPARTMENTS = ("roads", "lighting", "taxes", "urbanism", "public_relations")
OUTCOMES = ("ticket", "ticket", "transferred", "status", "callback", "handled", "abandoned")
CHOICES = {  # the main menu's intents in callflows.yaml → the node each leads to, and weight
    "report": ("report_category", 50),
    "status": ("status", 20),
    "callback": ("callback_department", 15),
    "departments": ("departments", 10),
    "faq": ("faq", 5),
}
BATCH = 5_000
PASSWORD = "bench password"
DAYS = 365
TICKET_EVERY = 100
"""One call in TICKET_EVERY filed a ticket (a registration number to search for)."""
SURVEY_EVERY = 10
"""One call in SURVEY_EVERY answered the post-call survey (scores 1–5 in turn)."""
ZONE = ZoneInfo("Europe/Bucharest")
WORDS = ("groapa", "strada", "scoala", "felinar", "gunoi", "masina", "zgomot", "parc")
RARE = "xylofon"
"""Said in one call of 100,000: without an index the word search reads every call to find it."""


def said(n: int, rng: random.Random) -> str:
    """What caller `n` said after the menu: two words, the rare one in one call of 100,000."""
    return RARE if n % 100_000 == 7 else f"{rng.choice(WORDS)} {rng.choice(WORDS)}"


def ticket_row(n: int, call: dict) -> dict:
    at = call["started_at"]
    return {
        "id": n // TICKET_EVERY + 1, "ref": format_ref(at.year, n // TICKET_EVERY + 1),
        "year": at.year, "number": n // TICKET_EVERY + 1, "kind": "report",
        "status": "registered", "draft": False, "category": "pothole",
        "department": call["department"], "caller": call["caller"], "language": "ro",
        "transcript": {"text": f"o {call['transcript']} mare", "language": "ro"},
        "pin_hash": "x", "call_id": call["id"], "created_at": at, "updated_at": at,
    }  # fmt: skip


def sms_row(ticket: dict) -> dict:
    """The SMS that told the caller their ticket's number."""
    return {
        "to": ticket["caller"], "body": f"Primaria Demo: sesizarea are numarul {ticket['ref']}.",
        "template": "sms_ticket", "language": "ro", "status": "sent", "ticket_id": ticket["id"],
        "segments": 1, "attempts": 1, "created_at": ticket["created_at"],
    }  # fmt: skip


def call_rows(n: int, now: datetime, version: str) -> Iterator[tuple[dict, list, dict]]:
    """Call `n`'s row, its 12 event rows (menu, a no-match, speech, a choice) and its menu
    choice row."""
    rng = random.Random(n)
    intent = rng.choices(list(CHOICES), weights=[w for _, w in CHOICES.values()])[0]
    target = CHOICES[intent][0]
    at = now - timedelta(seconds=rng.randrange(DAYS * 86_400))
    call_id = f"bench-{n:08d}"
    department = rng.choice(DEPARTMENTS)
    outcome = rng.choice(OUTCOMES)
    call = {
        "id": call_id,
        "caller": f"+40722{n % 1_000_000:06d}",
        "channel": "sip",
        "flow_version": version,
        "language": rng.choice(("ro", "en")),
        "started_at": at,
        "ended_at": at + timedelta(seconds=rng.randrange(20, 300)),
        "outcome": outcome,
        "current_node": "anything_else",
        "department": department,
        "ticket_id": n // TICKET_EVERY + 1 if n % TICKET_EVERY == 0 else None,
        "transcript": f"{intent} / {said(n, rng)}",
    }
    events = [
        ("event", "CallStarted", {"call_id": call_id, "caller": call["caller"]}),
        ("action", "Say", {"prompt": "welcome.prompt", "text": "Welcome", "mark": "m1"}),
        ("action", "Say", {"prompt": "main.prompt", "text": "Press 1", "mark": "m2"}),
        ("action", "Listen", {"node": "main", "keys": "123450"}),
        ("event", "PromptFinished", {"mark": "m2"}),
        ("event", "DigitsPressed", {"digits": "8"}),
        ("action", "Say", {"prompt": "texts.no_match", "text": "Sorry?", "mark": "m3"}),
        ("action", "Listen", {"node": "main", "keys": "123450"}),
        ("event", "SpeechRecognized", {"text": intent, "confidence": 0.8}),
        ("action", "Say", {"prompt": f"{target}.prompt", "text": "What?", "mark": "m4"}),
        ("action", "Listen", {"node": target, "keys": "12345"}),
        ("event", "SpeechRecognized", {"text": call["transcript"].split(" / ")[1]}),
        ("event", "CallerHungUp", {}),
    ]
    rows = [
        {
            "call_id": call_id,
            "seq": seq,
            "kind": kind,
            "type": kind_type,
            "payload": payload,
            "at": at + timedelta(seconds=2 * seq),
            "stored_at": at + timedelta(seconds=2 * seq, milliseconds=rng.randrange(5, 400)),
        }
        for seq, (kind, kind_type, payload) in enumerate(events, start=1)
    ]
    yield call, rows, {"call_id": call_id, "node": "main", "target": target, "started_at": at}


def generate(app: Any, calls: int) -> float:
    """Bulk-insert `calls` calls, their events, tickets and summary rows; seconds taken."""
    services = app.extensions["civicline"]
    loaded = services.flows.current()
    now = datetime.now(UTC).replace(microsecond=0)
    began = time.perf_counter()
    hours: Counter[tuple[datetime, str, str]] = Counter()
    days: Counter[tuple[Any, str, str]] = Counter()
    hours_of_day: Counter[tuple[Any, str, int]] = Counter()
    choices: Counter[tuple[Any, str, str]] = Counter()
    tickets: Counter[tuple[Any, str]] = Counter()
    answers: Counter[tuple[Any, str, int]] = Counter()
    engine = services.database.engine
    with services.database.session() as session:
        save_flow_version(session, loaded.version, loaded.source, loaded.path, now)
        add_user(session, "bench", PASSWORD, "supervisor")
    for first in range(0, calls, BATCH):
        call_batch, event_batch, choice_batch, ticket_batch, words_batch = [], [], [], [], []
        for n in range(first, min(first + BATCH, calls)):
            for call, rows, choice in call_rows(n, now, loaded.version):
                call_batch.append(call)
                event_batch.extend(rows)
                choice_batch.append(choice)
                local = call["started_at"].astimezone(ZONE)
                department = call["department"]
                choices[(local.date(), department, choice["target"])] += 1
                hour = call["started_at"].replace(minute=0, second=0)
                hours[(hour, call["outcome"], department)] += 1
                days[(local.date(), department, call["outcome"])] += 1
                hours_of_day[(local.date(), department, local.hour)] += 1
                if n % SURVEY_EVERY == 0:
                    answers[(local.date(), department, 1 + n // SURVEY_EVERY % 5)] += 1
                described = None
                if call["ticket_id"] is not None:
                    ticket_batch.append(ticket_row(n, call))
                    tickets[(local.date(), department)] += 1
                    described = ticket_batch[-1]["transcript"]
                words_batch.append(
                    {"call_id": call["id"], "words": words_of(call["transcript"], described)}
                )
        with engine.begin() as connection:
            connection.execute(insert(Call), call_batch)
            connection.execute(insert(CallEvent), event_batch)
            connection.execute(insert(CallChoice), choice_batch)
            if ticket_batch:
                connection.execute(insert(Ticket), ticket_batch)
                connection.execute(insert(SmsOutbox), [sms_row(t) for t in ticket_batch])
            connection.execute(insert(CallWords), words_batch)
    per_day: Counter[tuple[Any, str]] = Counter()
    for (day, department, _), count in days.items():
        per_day[(day, department)] += count
    with engine.begin() as connection:
        summaries = {
            CallHourStats: [
                {"hour": h, "outcome": o, "department": d, "calls": c}
                for (h, o, d), c in hours.items()
            ],
            CallDayStats: [
                {"day": day, "department": d, "outcome": o, "calls": c}
                for (day, d, o), c in days.items()
            ],
            CallHourOfDayStats: [
                {"day": day, "department": d, "hour": h, "calls": c}
                for (day, d, h), c in hours_of_day.items()
            ],
            NodeDayStats: [
                {"day": day, "department": d, "node": "main", "turns": 2 * c, "no_match": c,
                 "no_input": 0}
                for (day, d), c in per_day.items()
            ],
            ChoiceDayStats: [
                {"day": day, "department": d, "node": "main", "target": t, "count": c}
                for (day, d, t), c in choices.items()
            ],
            SurveyDayStats: [
                {"day": day, "department": d, "kind": "ivr", "score": s, "answers": c}
                for (day, d, s), c in answers.items()
            ],
            TicketDayStats: [
                {"day": day, "department": d, "opened": c, "closed": 0}
                for (day, d), c in tickets.items()
            ],
        }  # fmt: skip
        for model, rows in summaries.items():
            connection.execute(insert(model), rows)
    return time.perf_counter() - began


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def measure(app: Any, calls: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Page → (p50 ms, p95 ms), signed in as a supervisor, through the WSGI app in-process."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    rng = random.Random(7)
    now = datetime.now(UTC)

    def stamp() -> str:
        """A page cursor at a random time, URL-encoded (its "+00:00" would read as a space)."""
        return quote(
            f"{(now - timedelta(seconds=rng.randrange(DAYS * 86_400))).isoformat()}|bench-"
        )

    def typed_caller() -> str:
        digits = f"{rng.randrange(min(calls, 1_000_000)):06d}"
        return f"0722 {digits[:3]} {digits[3:]}"

    def ref() -> str:
        n = TICKET_EVERY * rng.randrange(max(calls // TICKET_EVERY, 1))
        call = next(call_rows(n, now.replace(microsecond=0), "v"))[0]
        return format_ref(call["started_at"].year, n // TICKET_EVERY + 1).replace("-", " ")

    pages = {
        "call log, first page": lambda: "/calls",
        "call log, older page": lambda: f"/calls?before={stamp()}",
        "call log, newer page": lambda: f"/calls?after={stamp()}",
        "call log, filtered": lambda: f"/calls?department={rng.choice(DEPARTMENTS)}&outcome=ticket",
        "call log, by intent": lambda: f"/calls?intent=main:{rng.choice(list(CHOICES))}",
        "call log, caller typed": lambda: f"/calls?caller={typed_caller()}",
        "call log, reg. number": lambda: f"/calls?ref={ref()}",
        "call log, a common word": lambda: f"/calls?words={rng.choice(WORDS)}",
        "call log, a rare word": lambda: f"/calls?words={RARE}",
        "call detail": lambda: f"/calls/bench-{rng.randrange(calls):08d}",
        "dashboard, 30 days": lambda: "/?days=30",
        "dashboard, 365 days": lambda: "/?days=365",
    }
    figures = {}
    for name, path in pages.items():
        samples = []
        for _ in range(repeats):
            began = time.perf_counter()
            response = client.get(path())
            assert response.status_code == 200, (name, response.status_code)
            response.get_data()
            samples.append(time.perf_counter() - began)
        figures[name] = (statistics.median(samples) * 1000, p95(samples))
    return figures


@contextmanager
def site(database_url: str) -> Iterator[Any]:
    data = Path(tempfile.mkdtemp(prefix="civicline-bench-web-"))
    try:
        settings = Settings(
            data_dir=data, database_url=database_url, flow_path=ROOT / "callflows.yaml",
            secret_key="bench",
        )  # fmt: skip
        app = create_app(settings)
        yield app
        app.extensions["civicline"].database.dispose()
    finally:
        shutil.rmtree(data, ignore_errors=True)


def report(dialect: str, app: Any, calls: int, repeats: int) -> None:
    with app.extensions["civicline"].database.session() as session:
        kept = session.scalar(select(func.count()).select_from(Call))
    if kept:
        calls = kept
        print(f"{dialect}: {calls:,} calls kept from an earlier run")
    else:
        seconds = generate(app, calls)
        print(f"{dialect}: {calls:,} calls, {13 * calls:,} events generated in {seconds:.0f} s")
    figures = measure(app, calls, repeats)
    for name, (p50, p95_ms) in figures.items():
        print(f"  {name:<26} p50 {p50:7.1f} ms   p95 {p95_ms:7.1f} ms", flush=True)
    first = figures["call log, first page"]
    for days in (30, 365):
        board = figures[f"dashboard, {days} days"]
        print(
            f"  dashboard {days} days ÷ call log first page: p50 {board[0] / first[0]:.1f}×, "
            f"p95 {board[1] / first[1]:.1f}×"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--sqlite-file",
        type=Path,
        help="keep the SQLite database in this file; one that holds calls is measured again "
        "without generating (generating a million calls takes ~25 minutes here)",
    )
    add_arguments(parser)
    args = parser.parse_args()
    calibrate(args.cpus)
    if args.only != "postgresql":
        directory = Path(tempfile.mkdtemp(prefix="civicline-bench-sqlite-"))
        path = args.sqlite_file or directory / "bench.db"
        with site(f"sqlite:///{path}") as app:
            report("SQLite", app, args.calls, args.repeats)
        shutil.rmtree(directory, ignore_errors=True)
    if args.only != "sqlite":
        with running_postgres() as server, site(server.create_database("bench")) as app:
            report("PostgreSQL", app, args.calls, args.repeats)


if __name__ == "__main__":
    main()
