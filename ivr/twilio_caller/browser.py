"""The browser phone's caller: the phone page's side of a call (`ivr/web/static/phone.js`)
without a browser, on the faithful caller's line clock and Media Stream (`stream`), so a
script drives it with the same steps as a Twilio call.

    with BrowserCaller("http://127.0.0.1:8080", username="ana", password=PASSWORD) as phone:
        phone.dial()         # sign in, POST /phone/calls, open /phone/stream
        phone.listen()       # silent until the prompts have played (marks echoed)
        phone.press("1")

As the page does: a signed-in session (the login form with its CSRF token), POST /phone/calls
with the page's CSRF token in X-CSRFToken, answered {call, token, stream}; then a WebSocket to
`stream` on the same origin, its handshake carrying the session's cookie, its User-Agent (the
site binds a session to it) and the page's Origin, speaking the Media Streams shapes in L16
at 16 kHz with the token in `start.customParameters`. No webhooks, no TwiML, no account: the
stream is the call. When it ends, the call is over: the caller's `stop`, or the server
closing it (a hang-up, or a transfer, which the browser cannot dial).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import requests

from ivr.channels.media_streams import TOKEN_PARAMETER
from ivr.twilio_caller.caller import Caller
from ivr.twilio_caller.line import (
    L16_16K,
    CallerError,
    Entry,
    HungUp,
    LineClock,
    Transcript,
)
from ivr.twilio_caller.stream import CallIds, StreamLeg

LOGIN_PATH = "/login"
PHONE_PATH = "/phone"
CALLS_PATH = "/phone/calls"


@dataclass(frozen=True)
class Site:
    """Where the caller signs in, and as whom."""

    base_url: str
    username: str
    password: str
    patience: float
    timeout: float

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def stream_url(self, path: str) -> str:
        """The page's WebSocket URL for `path`: same host, ws or wss as the page's scheme."""
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}{path}"


@dataclass(frozen=True)
class Started:
    """What POST /phone/calls answered."""

    call: str
    token: str
    stream: str


class BrowserCall:
    """One call from the phone page: sign-in, the call started, its one stream (a `LineCall`)."""

    def __init__(self, site: Site, clock: LineClock, transcript: Transcript) -> None:
        self.site, self.clock, self.transcript = site, clock, transcript
        self.state = "new"
        self.ended_by: str | None = None
        """ "caller" (`stop`), "ivr" (the server closed the stream), or "page" (the site
        refused to sign in or to start the call)."""
        self.leg: StreamLeg | None = None
        self.session = requests.Session()
        self._call_sid = ""

    @property
    def call_sid(self) -> str:
        return self._call_sid

    def dial(self) -> None:
        """Sign in, start the call, open its stream and send `connected` and `start`."""
        self.state = "live"
        try:
            self._sign_in()
            started = self._start_call()
            self._call_sid = started.call
            self.leg = self._stream(started)
        except CallerError:
            self._end("page")
            raise

    def current(self) -> StreamLeg | None:
        """The stream, while it lasts; once it ended, the call is over."""
        if self.state != "live" or self.leg is None:
            return None
        if self.leg.then is None:
            return self.leg
        self._end(self.leg.then.hang_up or "ivr")
        return None

    def hang_up(self, *, status_first: bool = False) -> None:
        """The page's Hang up: `stop`, then the socket closes (a page has no status callback
        to send first)."""
        leg = self.current()
        if leg is not None:
            self._end(leg.hang_up().hang_up or "caller")

    def close(self) -> None:
        if self.leg is not None:
            self.leg.close()
        self.session.close()

    def _sign_in(self) -> None:
        form = self._request("GET", LOGIN_PATH).text
        fields = {
            "csrf_token": _attribute(form, "value", name="csrf_token"),
            "username": self.site.username,
            "password": self.site.password,
        }
        answer = self._request("POST", LOGIN_PATH, data=fields, allow_redirects=False)
        if not answer.is_redirect:  # signed in, the form redirects; refused, it shows again
            raise CallerError(f"the site refused to sign {self.site.username} in")

    def _start_call(self) -> Started:
        """The phone page's Call: its CSRF token in X-CSRFToken, as the page's fetch sends."""
        csrf = _attribute(self._request("GET", PHONE_PATH).text, "data-csrf")
        headers = {"X-CSRFToken": csrf, "Origin": self.site.origin}
        answer = self._request("POST", CALLS_PATH, headers=headers)
        try:
            body = answer.json()
            return Started(str(body["call"]), str(body["token"]), str(body["stream"]))
        except (ValueError, KeyError, TypeError):
            raise CallerError(f"POST {CALLS_PATH} answered no call: {answer.text[:200]}") from None

    def _stream(self, started: Started) -> StreamLeg:
        url = self.site.stream_url(started.stream)
        return StreamLeg(
            url,
            reach=url,
            parameters={TOKEN_PARAMETER: started.token},
            action=None,
            ids=CallIds(started.call, account_sid=None),
            clock=self.clock,
            transcript=self.transcript,
            patience=self.site.patience,
            timeout=self.site.timeout,
            media_format=L16_16K,
            headers=self._page_headers(),
        )

    def _page_headers(self) -> dict[str, str]:
        """The handshake headers of the site's own page in this session."""
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        agent = str(self.session.headers["User-Agent"])
        return {"Cookie": cookies, "Origin": self.site.origin, "User-Agent": agent}

    def _request(self, method: str, path: str, **options: Any) -> requests.Response:
        """One request of the page's session; CallerError unless it succeeded."""
        try:
            answer = self.session.request(
                method, self.site.url(path), timeout=self.site.timeout, **options
            )
        except requests.RequestException as error:
            raise CallerError(f"{method} {path}: {error}") from None
        if answer.status_code >= 400:
            raise CallerError(f"{method} {path} answered {answer.status_code}")
        return answer

    def _end(self, by: str) -> None:
        if self.leg is not None:
            self.leg.close()
        self.state, self.ended_by = "over", by
        self.transcript.add(HungUp(self.clock.line, by))


class BrowserCaller(Caller):
    """One call from the browser phone's page, driven by a script's steps (`Caller`'s:
    listen, press, speak, say, hang_up)."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str,
        password: str,
        speed: float = 1.0,
        voice: str = "en",
        settle: float = 0.5,
        patience: float = 10.0,
        timeout: float = 10.0,
        observe: Callable[[Entry], None] | None = None,
    ) -> None:
        """A call from the site at `base_url`, signed in as `username`; the rest as
        `TwilioCaller` says. The caller's voice goes out resampled to 16 kHz, as L16."""
        site = Site(base_url.rstrip("/"), username, password, patience, timeout)
        transcript = Transcript(observe=observe)
        clock = LineClock(speed)
        super().__init__(
            BrowserCall(site, clock, transcript),
            clock,
            transcript,
            media_format=L16_16K,
            voice=voice,
            settle=settle,
            patience=patience,
            timeout=timeout,
        )


class _Tags(HTMLParser):
    """The attributes of a page's start tags, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(dict(attrs))


def _attribute(page: str, wanted: str, *, name: str | None = None) -> str:
    """`wanted`'s value on the page's first tag that has it (and, given, is named `name`)."""
    parser = _Tags()
    parser.feed(page)
    for attrs in parser.tags:
        value = attrs.get(wanted)
        if value and (name is None or attrs.get("name") == name):
            return value
    raise CallerError(f"the page has no {wanted}" + (f" on {name}" if name else ""))
