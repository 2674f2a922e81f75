"""Twilio's REST client as every process builds it: at CIVICLINE_TWILIO_API_URL when it is
set, and with a connect and a read timeout on every request, so a hung Twilio never holds a
worker (the `twilio` client waits forever by default).

Recording downloads are plain GETs (`webhooks.recordings.fetch`) and take the same timeouts
from the client (`timeouts`).
"""

from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

Timeouts = tuple[float, float]
"""(connect, read) seconds, as `requests` takes them."""


class TimedHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio has no type hints
    """`TwilioHttpClient` with a (connect, read) pair: its own `timeout` takes one number."""

    def __init__(self, timeouts: Timeouts) -> None:
        if min(timeouts) <= 0:
            raise ValueError(f"timeouts must be positive, not {timeouts}")
        super().__init__()
        self.timeout = timeouts  # requests takes the pair


def rest_client(account_sid: str, auth_token: str, api_url: str, timeouts: Timeouts) -> Client:
    """The REST client for the account, at `api_url` (empty: Twilio's own), with timeouts."""
    client = Client(account_sid, auth_token, http_client=TimedHttpClient(timeouts))
    if api_url:
        client.api.base_url = api_url.rstrip("/")
    return client


def timeouts(client: Client) -> Timeouts:
    """The (connect, read) timeouts of a client built by `rest_client`."""
    http = client.http_client
    if not isinstance(http, TimedHttpClient):
        raise TypeError("the Twilio client was built without timeouts (use rest_client)")
    pair: Timeouts = http.timeout
    return pair
