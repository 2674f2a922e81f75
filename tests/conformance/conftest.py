"""Fixtures of the line's conformance calls: the open Korean flow and its prompts, rendered
once per session, and a phone on each channel (`phone_on`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from browser_phone import browser_phones  # noqa: F401 (a fixture)
from flask import Flask
from line_flow import PROMPT_RATE, open_flow_text
from script import CHANNELS, Phone, PhoneFactory
from sip_phone import sip_phones  # noqa: F401 (a fixture)
from terminal_phone import terminal_phone
from twilio_phone import AUTH_TOKEN, PUBLIC_URL, served, twilio_phone

from ivr.bootstrap import call_services, open_database, recognizer_for
from ivr.config import Settings
from ivr.web import create_app
from menus.loader import load_flow
from speech.prompts import build
from speech.synthesis import Synthesizer


@pytest.fixture(scope="session")
def line_flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("line-flow") / "line.yaml"
    path.write_text(open_flow_text())
    load_flow(path)  # a broken test flow fails here, with FILE:LINE
    return path


@pytest.fixture(scope="session")
def line_prompts(tmp_path_factory: pytest.TempPathFactory, line_flow: Path) -> Path:
    """The flow's prompts, rendered once (espeak-ng) as `ivr prompts build` does."""
    root = tmp_path_factory.mktemp("line-prompts") / "prompts"
    with Synthesizer(timeout_seconds=30) as synthesizer:
        build(load_flow(line_flow).flow, root, synthesizer, words_per_minute=PROMPT_RATE)
    return root


@pytest.fixture
def line_settings(tmp_path: Path, line_flow: Path, line_prompts: Path) -> Settings:
    shutil.copytree(line_prompts, tmp_path / "prompts")
    return Settings(data_dir=tmp_path, flow_path=line_flow, secret_key="test")


@pytest.fixture
def terminal_phones(line_settings: Settings, tmp_path: Path) -> Iterator[PhoneFactory]:
    database = open_database(line_settings)
    services = call_services(line_settings, database)

    def phone(*, caller: str, transfer: str = "answered") -> AbstractContextManager[Phone]:
        return terminal_phone(services, tmp_path, caller=caller, transfer=transfer)

    yield phone
    database.dispose()


def app_on(settings: Settings) -> Flask:
    """The application as `ivr serve` runs it, its model loaded before the first call (as
    `ivr serve` warms it), so a call's first Listen does not wait for it."""
    app = create_app(settings)
    services = app.extensions["civicline"]
    for language in services.flows.current().flow.languages:
        recognizer_for(services.flows.current().flow, language).close()
    return app


@pytest.fixture
def line_app(line_settings: Settings) -> Flask:
    """The application on the conformance settings, as `ivr serve` runs it (the browser phone's
    site: no Twilio settings)."""
    return app_on(line_settings)


@pytest.fixture
def twilio_phones(line_settings: Settings) -> Iterator[PhoneFactory]:
    settings = line_settings.model_copy(
        update={"public_url": PUBLIC_URL, "twilio_auth_token": AUTH_TOKEN}
    )
    app = app_on(settings)
    with served(app) as base_url:

        def phone(*, caller: str, transfer: str = "answered") -> AbstractContextManager[Phone]:
            return twilio_phone(app, base_url, caller=caller, transfer=transfer)

        yield phone


@pytest.fixture
def gather_phones(line_settings: Settings, tmp_path: Path) -> Iterator[PhoneFactory]:
    flow = tmp_path / "gather.yaml"
    flow.write_text(open_flow_text(twilio_mode="gather"))
    settings = line_settings.model_copy(
        update={"public_url": PUBLIC_URL, "twilio_auth_token": AUTH_TOKEN, "flow_path": flow}
    )
    app = create_app(settings)
    with served(app) as base_url:

        def phone(*, caller: str, transfer: str = "answered") -> AbstractContextManager[Phone]:
            return twilio_phone(app, base_url, caller=caller, transfer=transfer)

        yield phone


@pytest.fixture(params=CHANNELS)
def phone_on(request: pytest.FixtureRequest) -> PhoneFactory:
    """A phone on each channel in turn: `with phone_on(caller=…, transfer=…) as phone`."""
    factory: PhoneFactory = request.getfixturevalue(f"{request.param}_phones")
    return factory
