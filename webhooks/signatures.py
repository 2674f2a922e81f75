"""Twilio request signatures: every webhook is checked before it is read.

The URL Twilio signed is the public one it was given (CIVICLINE_PUBLIC_URL, behind a proxy
or a tunnel), not the one the server sees. Unsigned or forged requests, and every request
while no auth token is configured, answer 403 and are logged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import Request, abort, request
from twilio.request_validator import RequestValidator

from ivr import app_context
from ivr.config import Settings

log = logging.getLogger(__name__)


def public_url(settings: Settings, req: Request) -> str:
    """The URL of `req` as Twilio requested it."""
    if not settings.public_url:
        return req.url
    query = req.query_string.decode("latin-1")
    base = settings.public_url.rstrip("/") + req.script_root + req.path
    return f"{base}?{query}" if query else base


def is_signed(settings: Settings, req: Request) -> bool:
    signature = req.headers.get("X-Twilio-Signature", "")
    if not settings.twilio_auth_token or not signature:
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    return bool(validator.validate(public_url(settings, req), req.form.to_dict(), signature))


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer 403 (and log it) unless the request carries Twilio's valid signature."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not is_signed(app_context.settings(), request):
            log.warning(
                "refused an unsigned or forged Twilio request: %s %s from %s",
                request.method,
                request.path,
                request.remote_addr,
            )
            abort(403)
        return view(*args, **kwargs)

    return checked
