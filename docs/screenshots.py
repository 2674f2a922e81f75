"""Screenshots of the supervisor site for the README: the call log, a call's detail, the
dashboard, a ticket and the browser phone, taken by Chromium (Playwright) over demo data.

The demo data are real calls: `DEMO_CALLS` calls on callflows.yaml driven through the
CallRunner by a seeded random caller (keys, now and then a wrong key or a silence, a
description recorded, transfers answered or not), spread over the last week, so every page
shows what the IVR itself stored. Run `.venv/bin/python docs/screenshots.py`; the PNGs go to
docs/screenshots/.
"""

from __future__ import annotations

import io
import logging
import math
import random
import shutil
import struct
import sys
import tempfile
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:1] = [str(ROOT)]  # docs/ itself off the path

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from ivr.calls.runner import CallRunner  # noqa: E402
from ivr.config import Settings  # noqa: E402
from ivr.engine import actions as act  # noqa: E402
from ivr.engine import events as ev  # noqa: E402
from ivr.recordings import Recordings  # noqa: E402
from ivr.storage.directory import add_user  # noqa: E402
from ivr.storage.models import Call, CallEvent, Recording, Ticket  # noqa: E402
from ivr.web import create_app  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
DEMO_CALLS = 60
MAX_EVENTS = 40
PASSWORD = "demo password"
CALLERS = ["+40722111222", "+40733444555", "+40744666777", "+40755888999", None]


def description_wav(seconds: float, rng: random.Random, rate: int = 8000) -> bytes:
    """A speech-like murmur: a vowel-ish tone that rises and falls in syllables."""
    samples = []
    pitch = rng.uniform(110, 220)
    for n in range(int(seconds * rate)):
        t = n / rate
        envelope = max(0.0, math.sin(2 * math.pi * 3.0 * t))
        value = math.sin(2 * math.pi * pitch * t) + 0.4 * math.sin(2 * math.pi * 3 * pitch * t)
        samples.append(int(9000 * envelope * value))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()


def demo_call(services: Any, store: Recordings, rng: random.Random, at: datetime) -> None:
    """One call driven to its end by a random caller who mostly presses the keys offered."""
    runner, actions = CallRunner.start(
        services, caller=rng.choice(CALLERS), channel=rng.choice(["twilio", "sip"]), at=at
    )
    listen: act.Listen | None = None
    for _ in range(MAX_EVENTS):
        if runner.session.ended:
            return
        event: ev.Event | None = None
        for action in actions:
            if isinstance(action, act.Listen):
                listen = action
        says = [a for a in actions if isinstance(a, act.Say)]
        at += timedelta(seconds=rng.uniform(2, 9))
        record = next((a for a in actions if isinstance(a, act.Record)), None)
        transfer = next((a for a in actions if isinstance(a, act.Transfer)), None)
        if any(isinstance(a, act.HangUp) for a in actions):
            return
        if record is not None:
            seconds = rng.uniform(3, 9)
            stored = store.save_wav(
                runner.call_id, "description", description_wav(seconds, rng), at
            )
            event = ev.RecordingFinished(at=at, recording_id=stored.id, seconds=seconds)
        elif transfer is not None:
            result = rng.choice(["answered", "answered", "no-answer", "busy"])
            event = ev.TransferFinished(at=at, result=result)  # type: ignore[arg-type]
        elif says and (listen is None or rng.random() < 0.5):
            event = ev.PromptFinished(at=at, mark=says[-1].mark)
        elif listen is not None:
            event = _answer(listen, rng, at)
        if event is None:
            break
        actions = runner.feed(event)
    if not runner.session.ended:
        runner.feed(ev.CallerHungUp(at=at + timedelta(seconds=2)))


def _answer(listen: act.Listen, rng: random.Random, at: datetime) -> ev.Event:
    roll = rng.random()
    if roll < 0.06:
        return ev.TimerExpired(at=at, name="no_input")
    if roll < 0.14:
        return ev.DigitsPressed(at=at, digits=rng.choice("789"))
    if roll < 0.3 and listen.intents:
        intent = rng.choice(list(listen.intents.values()))
        if intent:
            confidence = round(rng.uniform(0.55, 0.97), 2)
            return ev.SpeechRecognized(at=at, text=intent[0], confidence=confidence)
    if listen.max_digits > 1:
        digits = "".join(rng.choice("0123456789") for _ in range(listen.max_digits))
        return ev.DigitsPressed(at=at, digits=digits)
    keys = listen.keys.replace("0", "") or listen.keys or "1"
    return ev.DigitsPressed(at=at, digits=rng.choice(keys))


@contextmanager
def demo_site(folder: Path) -> Iterator[tuple[Any, str]]:
    settings = Settings(data_dir=folder, flow_path=ROOT / "callflows.yaml", secret_key="demo")
    app = create_app(settings)
    services = app.extensions["civicline"]
    with services.database.session() as session:
        add_user(session, "demo", PASSWORD, "supervisor")
    store = Recordings.local(services.database, folder / "recordings")
    rng = random.Random(2026)
    now = datetime.now(UTC).replace(microsecond=0)
    for _ in range(DEMO_CALLS):
        demo_call(services, store, rng, now - timedelta(minutes=rng.randrange(10, 7 * 24 * 60)))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def shoot(page: Page, base: str, path: str, name: str) -> None:
    page.goto(base + path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/screenshots/{name}.png  {path}")


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    OUT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="civicline-screenshots-"))
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
    ]
    try:
        with demo_site(folder) as (app, base), sync_playwright() as playwright:
            with app.extensions["civicline"].database.session() as session:
                rows = session.execute(  # the shortest call that filed a recorded report
                    select(Call.id, Ticket.ref)
                    .join(Ticket, Ticket.call_id == Call.id)
                    .join(Recording, Recording.call_id == Call.id)
                    .join(CallEvent, CallEvent.call_id == Call.id)
                    .group_by(Call.id, Ticket.ref)
                    .order_by(func.count(CallEvent.id))
                ).first()
            call_id, ref = rows or (None, None)
            assert call_id is not None, "no demo call filed a ticket with a recording"
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "demo")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            shoot(page, base, "/calls", "call-log")
            shoot(page, base, f"/calls/{call_id}", "call-detail")
            shoot(page, base, "/?days=7", "dashboard")
            shoot(page, base, f"/tickets/{ref}", "ticket")
            page.goto(f"{base}/phone")
            page.click("#call")
            page.wait_for_function("() => window.civiclinePhone.state === 'in call'")
            page.wait_for_function("() => document.querySelectorAll('#transcript li').length >= 3")
            page.screenshot(path=str(OUT / "browser-phone.png"), full_page=True)
            print("docs/screenshots/browser-phone.png  /phone (in a call)")
            browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
