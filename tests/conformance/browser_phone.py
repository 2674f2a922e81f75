"""The browser phone as a conformance phone: the faithful browser caller
(`ivr.twilio_caller.BrowserCaller`) signs in to the real application served on a real socket,
starts a call from the phone page and carries it on /phone/stream in L16 at 16 kHz, on the
same line clock and stream machinery as the Twilio caller (line time `SPEED` times faster
than real time, the order of everything a real line's).

The browser has no caller number (the flow treats the call as withheld) and cannot dial: a
transfer ends the stream, and the call ends as if the caller had hung up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from flask import Flask
from script import Timing, built_prompt_seconds
from twilio_phone import SPEED, CallerPhone, served

from ivr.storage.directory import add_user
from ivr.twilio_caller import BrowserCaller
from speech.audio import BROWSER_RATE
from speech.prompts import PromptLibrary

USERNAME = "conformance"
PASSWORD = "conformance line password"


@contextmanager
def browser_phone(app: Flask, base_url: str) -> Iterator[CallerPhone]:
    """A call from the app's phone page, signed in as the conformance user."""
    prompts = PromptLibrary(app.extensions["civicline.settings"].data_dir / "prompts")
    timing = Timing(line_clock=True, prompt_seconds=built_prompt_seconds(prompts, BROWSER_RATE))
    with BrowserCaller(
        base_url,
        username=USERNAME,
        password=PASSWORD,
        speed=SPEED,
        voice="ko",
    ) as call:
        call.dial()
        yield CallerPhone(call, app, timing)


@pytest.fixture
def browser_phones(
    line_app: Flask,
) -> Iterator[Callable[..., AbstractContextManager[CallerPhone]]]:
    """Phones on the browser phone of the conformance app, its user added as `ivr users add`
    adds one. `caller` and `transfer` are the other channels': the browser sends no number
    and dials nobody."""
    with line_app.extensions["civicline"].database.session() as db:
        add_user(db, USERNAME, PASSWORD, "officer")
    with served(line_app) as base_url:

        def phone(
            *, caller: str, transfer: str = "answered"
        ) -> AbstractContextManager[CallerPhone]:
            return browser_phone(line_app, base_url)

        yield phone
