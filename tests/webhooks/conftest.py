"""Fixtures of the Twilio tests: the web application on the Korean test flow, with a Twilio
auth token and a public URL, and a client that signs its requests as Twilio does."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from twilio_signing import AUTH_TOKEN, KOREAN_FLOW, PUBLIC_URL, Twilio

from ivr.config import Settings
from ivr.web import create_app
from menus.loader import load_flow
from speech.prompts import build
from speech.synthesis import Synthesizer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        flow_path=KOREAN_FLOW,
        public_url=PUBLIC_URL,
        twilio_auth_token=AUTH_TOKEN,
        secret_key="test",
    )


@pytest.fixture(scope="session")
def built_prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Korean test flow's prompts rendered once (espeak-ng), as `ivr prompts build` does;
    copy them into a test's data directory."""
    root = tmp_path_factory.mktemp("built") / "prompts"
    with Synthesizer() as synthesizer:
        build(load_flow(KOREAN_FLOW).flow, root, synthesizer)
    return root


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def twilio(app: Flask) -> Twilio:
    return Twilio(app.test_client())
