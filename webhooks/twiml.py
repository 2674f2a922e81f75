"""TwiML documents civicline answers Twilio with, rendered by the `twilio` package's
VoiceResponse: pure functions of their arguments (no request, no database, no clock)."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

TOKEN_PARAMETER = "token"


def stream(url: str, token: str, *, next_url: str) -> str:
    """Connect the call to our Media Streams WebSocket at `url`; `token` (one-time) proves
    the stream was started by this answer. When we close the stream, Twilio asks `next_url`
    what follows (a transfer, a hang-up)."""
    response = VoiceResponse()
    connect = response.connect()
    connect.stream(url=url).parameter(name=TOKEN_PARAMETER, value=token)
    response.redirect(next_url, method="POST")
    return str(response)


def dial(
    target: str, *, action: str, timeout: int, caller_id: str | None, whisper_url: str | None
) -> str:
    """Transfer the call to `target` (E.164 number or SIP URI); Twilio posts the outcome to
    `action`; the officer first hears the TwiML at `whisper_url` (the ticket reference)."""
    response = VoiceResponse()
    options = {"action": action, "method": "POST", "timeout": timeout}
    if caller_id:
        options["caller_id"] = caller_id
    call = response.dial(**options)
    extra = {"url": whisper_url} if whisper_url else {}
    if target.startswith(("sip:", "sips:")):
        call.sip(target, **extra)
    else:
        call.number(target, **extra)
    return str(response)


def whisper(text: str, language: str | None = None) -> str:
    """What the officer hears before the caller is put through."""
    response = VoiceResponse()
    response.say(text, **({"language": language} if language else {}))
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def reject() -> str:
    """Refuse a call we cannot serve (the flow is broken, the database is down)."""
    response = VoiceResponse()
    response.reject()
    return str(response)
