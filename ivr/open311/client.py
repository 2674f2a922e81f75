"""A GeoReport v2 client for the city's own endpoint: POST a request, resolve a token,
GET the status of requests. XML (the format every endpoint must serve), parsed with
defusedxml: the answer comes from another system. Every request has connect and read
timeouts.

Errors come in two kinds: `Refused` (a 4xx other than 429: sending the same again cannot
help) and `Unavailable` (a timeout, a connection error, a 5xx or 429, an answer that is not
GeoReport: try again later)."""

from __future__ import annotations

from typing import Any

import requests
from defusedxml import DefusedXmlException, ElementTree

BATCH = 50
"""Requests asked for in one GET (ids comma-separated)."""


class Unavailable(Exception):
    """The endpoint could not answer now; the same request may succeed later."""


class Refused(Exception):
    """The endpoint refused the request (its error description is the message)."""


class GeoReportClient:
    def __init__(
        self, base_url: str, api_key: str, timeouts: tuple[float, float],
        session: requests.Session | None = None,
    ) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeouts = timeouts
        self.http = session or requests.Session()

    def post_request(self, fields: dict[str, str]) -> dict[str, str]:
        """File a request; its `service_request_id` or `token` (or both)."""
        answer = self._call("POST", "requests.xml", data={**fields, "api_key": self.api_key})
        found = read_requests(answer)
        if not found or not (found[0].get("service_request_id") or found[0].get("token")):
            raise Unavailable("the endpoint's answer names no service_request_id or token")
        return found[0]

    def request_for_token(self, token: str) -> str | None:
        """The service_request_id a token became, or None while it has none yet."""
        found = read_requests(self._call("GET", f"tokens/{token}.xml"))
        return found[0].get("service_request_id") or None if found else None

    def statuses(self, ids: list[str]) -> list[dict[str, str]]:
        """The requests `ids` as the endpoint shows them, asked for BATCH at a time."""
        rows: list[dict[str, str]] = []
        for start in range(0, len(ids), BATCH):
            batch = ",".join(ids[start : start + BATCH])
            rows += read_requests(
                self._call("GET", "requests.xml", params={"service_request_id": batch})
            )
        return rows

    def _call(self, method: str, path: str, **kwargs: Any) -> bytes:
        url = f"{self.base_url}/{path}"
        try:
            response = self.http.request(method, url, timeout=self.timeouts, **kwargs)
        except requests.RequestException as error:
            raise Unavailable(f"{method} {path}: {type(error).__name__}") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise Unavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise Refused(
                f"{method} {path}: HTTP {response.status_code}: {_errors(response.content)}"
            )
        return response.content


def read_requests(body: bytes) -> list[dict[str, str]]:
    """The `<request>` elements of a `<service_requests>` document, as tag → text."""
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as error:
        raise Unavailable(f"the answer is not plain XML: {error!r}") from error
    if root.tag != "service_requests":
        raise Unavailable(f"the answer is <{root.tag}>, not <service_requests>")
    return [{child.tag: (child.text or "") for child in request} for request in root]


def _errors(body: bytes) -> str:
    """The descriptions of a GeoReport error document, or its start when it is not one."""
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException):
        return body[:200].decode(errors="replace")
    return "; ".join(error.findtext("description") or "" for error in root) or root.tag
