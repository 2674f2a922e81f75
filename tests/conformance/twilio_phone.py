"""Twilio's channels as conformance phones: the faithful Twilio caller (`ivr.twilio_caller`)
against the real application served on a real socket, on a Media Stream or, with the flow's
`twilio_mode: gather`, through `<Gather>` and `<Record>`. Line time runs `SPEED` times
faster than real time; the order of everything stays a real line's."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from script import Timing, built_prompt_seconds
from werkzeug.serving import make_server

from ivr.calls.runner import CallServices
from ivr.storage.db import Database
from ivr.twilio_caller import Caller, CallOver, TwilioCaller
from speech.prompts import PromptLibrary

AUTH_TOKEN = "conformance-auth-token"
PUBLIC_URL = "https://city.example"
SPEED = 10.0


@dataclass
class CallerPhone:
    """A conformance phone over the faithful caller of Twilio (or of the browser phone)."""

    caller: Caller
    app: Flask
    timing: Timing

    @property
    def services(self) -> CallServices:
        found: CallServices = self.app.extensions["civicline"]
        return found

    @property
    def database(self) -> Database:
        return self.services.database

    @property
    def call_id(self) -> str:
        return self.caller.call_sid

    def silence(self, seconds: float) -> None:
        with contextlib.suppress(CallOver):
            self.caller.listen(seconds)

    def listen(self) -> None:
        with contextlib.suppress(CallOver):
            self.caller.listen()

    def press(self, keys: str, gap: float = 0.3) -> None:
        with contextlib.suppress(CallOver):
            self.caller.press(keys, gap)

    def speak(self, pcm: bytes) -> None:
        with contextlib.suppress(CallOver):
            self.caller.speak(pcm)

    def hang_up(self) -> None:
        self.caller.hang_up()


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """`app` on a free local port, in threads as `ivr serve` runs it; its base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join()


@contextmanager
def twilio_phone(app: Flask, base_url: str, *, caller: str, transfer: str) -> Iterator[CallerPhone]:
    """A call on the app's Twilio line: a Media Stream, or gather mode when the flow says."""
    services: CallServices = app.extensions["civicline"]
    stream = services.flows.current().flow.settings.twilio_mode != "gather"
    prompts = PromptLibrary(app.extensions["civicline.settings"].data_dir / "prompts")
    timing = Timing(line_clock=stream, prompt_seconds=built_prompt_seconds(prompts))
    with TwilioCaller(
        base_url,
        auth_token=AUTH_TOKEN,
        public_url=PUBLIC_URL,
        caller=caller,
        speed=SPEED,
        voice="ko",
        talk_seconds=1.0,
        dial_outcome=transfer,
    ) as call:
        call.dial()
        yield CallerPhone(call, app, timing)
