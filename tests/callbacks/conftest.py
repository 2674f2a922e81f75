"""Fixtures of the callback tests: the demo city's web application with a Twilio auth token,
a public URL and a clock the test moves by hand, and a client that signs its requests as
Twilio does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from callback_twilio import AUTH_TOKEN, PUBLIC_URL, SignedTwilio
from flask import Flask
from hand_clock import Clock
from twilio_rest_standin import ACCOUNT, OUR_NUMBER, TOKEN, TwilioStandIn, running_standin

from ivr.config import Settings
from ivr.storage.db import Database
from ivr.web import create_app


@pytest.fixture
def demo_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        public_url=PUBLIC_URL,
        twilio_auth_token=AUTH_TOKEN,
        secret_key="test",
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def demo_app(demo_settings: Settings, clock: Clock) -> Flask:
    return create_app(demo_settings, clock)


@pytest.fixture
def signed(demo_app: Flask, demo_settings: Settings) -> SignedTwilio:
    """Signed with the account's auth token, as Twilio signs."""
    return SignedTwilio(demo_app.test_client(), token=demo_settings.twilio_auth_token)


@pytest.fixture
def demo_db(demo_app: Flask) -> Database:
    database: Database = demo_app.extensions["civicline"].database
    return database


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    with running_standin() as server:
        yield server


@pytest.fixture
def account_settings(tmp_path: Path, sqlite_url: str, standin: TwilioStandIn) -> Settings:
    """Settings with a Twilio account, whose REST API is the stand-in: one account for the
    site and the worker, as in production (override `demo_settings` with it)."""
    return Settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        flow_path=Path(__file__).resolve().parents[2] / "callflows.yaml",
        public_url=PUBLIC_URL,
        secret_key="test",
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_from=OUR_NUMBER,
        twilio_api_url=standin.url,
        http_connect_seconds=1,
        http_read_seconds=1,
    )
