"""How the faithful Twilio caller (`twilio_caller`) reaches the server: webhook requests signed
as Twilio signs them, the URLs the server names (its public URL, which Twilio signs) mapped to
where it listens, and the media a `<Play>` fetches.

The signature is the `twilio` package's own: HMAC-SHA1 of the URL as requested (with its query)
and, for a POST, the form parameters sorted by name (a GET carries them in its query).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

from ivr.twilio_caller.line import MULAW_RATE, CallerError, Request
from speech.audio import AudioError, read_wav, seconds


@dataclass
class Webhooks:
    base_url: str
    """Where the server listens (this caller's way in)."""
    public_url: str
    """The base URL the server calls itself and names in its TwiML."""
    auth_token: str
    timeout: float
    session: requests.Session = field(default_factory=requests.Session)
    media_seconds: dict[str, float] = field(default_factory=dict)
    """`<Play>` URL → its length (Twilio caches the media it fetched)."""

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.public_url = self.public_url.rstrip("/")

    def send(self, request: Request, params: Mapping[str, str]) -> tuple[str, requests.Response]:
        """Request `request` with `params`, signed; the URL as signed and the response
        (CallerError when the server cannot be reached)."""
        url, body = request.url, dict(params)
        if request.method == "GET":
            url, body = url + ("&" if "?" in url else "?") + urlencode(body), {}
        signature = RequestValidator(self.auth_token).compute_signature(url, body)
        try:
            response = self.session.request(
                request.method,
                self.reach(url),
                data=body or None,
                headers={"X-Twilio-Signature": signature},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise CallerError(f"{request.method} {url}: {error}") from None
        return url, response

    def play_seconds(self, url: str) -> float:
        """A `<Play>`'s length: its WAV file fetched (GET, unsigned, as Twilio fetches media)."""
        if url not in self.media_seconds:
            try:
                response = self.session.get(self.reach(url), timeout=self.timeout)
                response.raise_for_status()
                pcm = read_wav(response.content, MULAW_RATE)
            except (requests.RequestException, AudioError) as error:
                raise CallerError(f"<Play> {url}: {error}") from None
            self.media_seconds[url] = seconds(pcm, MULAW_RATE)
        return self.media_seconds[url]

    def reach(self, url: str) -> str:
        """Where this caller reaches a URL the server named (http(s) and ws(s) alike)."""
        for public, base in (
            (self.public_url, self.base_url),
            (_ws(self.public_url), _ws(self.base_url)),
        ):
            if url == public or url.startswith((public + "/", public + "?")):
                return base + url[len(public) :]
        return url

    def close(self) -> None:
        self.session.close()


def _ws(url: str) -> str:
    """The WebSocket twin of an http(s) URL."""
    return "ws" + url[4:] if url.startswith("http") else url
