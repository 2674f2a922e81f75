"""What the Twilio tests share besides fixtures: the Korean test flow, the account's auth
token and public URL, and a client that signs its requests as Twilio does. (Imported by
name: test modules never import conftest.)"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

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
