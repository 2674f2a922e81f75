"""Twilio as the callback tests see it: signed webhook requests, message and call sids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

AUTH_TOKEN = "test-auth-token"
PUBLIC_URL = "https://city.example"


@dataclass
class SignedTwilio:
    """Posts to our webhooks as Twilio would, signed with the account's token (or not)."""

    client: FlaskClient
    token: str = AUTH_TOKEN

    def post(self, path: str, form: dict[str, str], *, signed: bool = True) -> Any:
        headers = {}
        if signed:
            signature = RequestValidator(self.token).compute_signature(PUBLIC_URL + path, form)
            headers["X-Twilio-Signature"] = signature
        return self.client.post(path, data=form, headers=headers)

    def sms(self, sender: str, body: str, sid: str | None = None) -> Any:
        form = {"MessageSid": sid or new_message_sid(), "From": sender, "Body": body}
        return self.post("/twilio/sms", form)


def path(url: str) -> str:
    """The path (and query) of one of our webhooks' URLs, as we gave it to Twilio."""
    assert url.startswith(PUBLIC_URL), url
    return url.removeprefix(PUBLIC_URL)


def new_message_sid() -> str:
    return "SM" + uuid.uuid4().hex


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex
