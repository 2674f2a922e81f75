"""Fixtures of the callback tests: the demo city's web application with a Twilio auth token,
a public URL and a clock the test moves by hand, and a client that signs its requests as
Twilio does."""

from __future__ import annotations

from pathlib import Path

import pytest
from callback_twilio import AUTH_TOKEN, PUBLIC_URL, SignedTwilio
from flask import Flask
from hand_clock import Clock

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
def signed(demo_app: Flask) -> SignedTwilio:
    return SignedTwilio(demo_app.test_client())


@pytest.fixture
def demo_db(demo_app: Flask) -> Database:
    database: Database = demo_app.extensions["civicline"].database
    return database
