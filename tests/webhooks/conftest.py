"""Fixtures of the Twilio tests: the web application on the Korean test flow, with a Twilio
auth token and a public URL, and a client that signs its requests as Twilio does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from ivr.config import Settings
from ivr.web import create_app

KOREAN_FLOW = Path(__file__).parents[1] / "flows" / "korean.yaml"
AUTH_TOKEN = "test-auth-token"
PUBLIC_URL = "https://city.example"


@dataclass
class Twilio:
    """Posts to our webhooks as Twilio would, signed (or not) with the account's token."""

    client: FlaskClient
    token: str = AUTH_TOKEN

    def post(self, path: str, form: dict[str, str], *, signed: bool = True) -> Any:
        headers = {}
        if signed:
            url = PUBLIC_URL + path
            headers["X-Twilio-Signature"] = RequestValidator(self.token).compute_signature(
                url, form
            )
        return self.client.post(path, data=form, headers=headers)


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        flow_path=KOREAN_FLOW,
        public_url=PUBLIC_URL,
        twilio_auth_token=AUTH_TOKEN,
        secret_key="test",
    )


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def twilio(app: Flask) -> Twilio:
    return Twilio(app.test_client())
