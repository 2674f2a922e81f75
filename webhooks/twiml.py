"""TwiML documents civicline answers Twilio with, rendered by the `twilio` package's
VoiceResponse: pure functions of their arguments (no request, no database, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

from ivr.channels.media_streams import TOKEN_PARAMETER

ALL_KEYS = "0123456789*#"


@dataclass(frozen=True)
class Prompt:
    """One prompt: our pre-rendered files, played in order (`<Play>` each URL), or, without
    them, its text said by Twilio (`<Say>`)."""

    text: str
    urls: Sequence[str] = ()


@dataclass(frozen=True)
class Spoken:
    """Prompts to play; those Twilio says are in `language` (a Twilio language tag, or its
    default)."""

    prompts: Sequence[Prompt]
    language: str | None = None

    def say_into(self, verb: VoiceResponse) -> None:
        for prompt in self.prompts:
            for url in prompt.urls:
                verb.play(url)
            if not prompt.urls:
                verb.say(prompt.text, **({"language": self.language} if self.language else {}))


@dataclass(frozen=True)
class GatherOptions:
    """One `<Gather>`: keys (and speech unless `keys_only`) posted to `action`, or an empty
    post after `timeout` seconds of silence."""

    action: str
    timeout: int
    num_digits: int
    finish_on_key: str
    hints: Sequence[str] = ()
    keys_only: bool = False
    interruptible: bool = True
    """The caller's speech may cut the prompts (keys always do)."""


def stream(url: str, token: str, *, next_url: str) -> str:
    """Connect the call to our Media Streams WebSocket at `url`; `token` (one-time) proves
    the stream was started by this answer. When the stream ends (we close it, or the process
    holding it dies), Twilio requests the `<Connect>`'s action, `next_url`, on any node:
    what follows (a transfer, a hang-up, or the call resumed on a new stream)."""
    response = VoiceResponse()
    connect = response.connect(action=next_url, method="POST")
    connect.stream(url=url).parameter(name=TOKEN_PARAMETER, value=token)
    return str(response)


def dial(
    target: str,
    *,
    action: str,
    timeout: int,
    caller_id: str | None,
    whisper_url: str | None,
    recording_callback: str | None = None,
    first: Spoken | None = None,
) -> str:
    """Transfer the call to `target` (E.164 number or SIP URI); Twilio posts the outcome to
    `action`; the officer first hears the TwiML at `whisper_url` (the ticket reference).
    With `recording_callback` the conversation is recorded from the answer and Twilio posts
    the finished recording there. `first`: prompts played before dialling (gather mode)."""
    response = VoiceResponse()
    if first is not None:
        first.say_into(response)
    options: dict[str, object] = {"action": action, "method": "POST", "timeout": timeout}
    if caller_id:
        options["caller_id"] = caller_id
    if recording_callback:
        options["record"] = "record-from-answer"
        options["recording_status_callback"] = recording_callback
        options["recording_status_callback_event"] = "completed"
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


def hang_up(first: Spoken | None = None) -> str:
    response = VoiceResponse()
    if first is not None:
        first.say_into(response)
    response.hangup()
    return str(response)


def gather(spoken: Spoken, options: GatherOptions) -> str:
    """Play the prompts and collect the caller's answer with Twilio's `<Gather>` (gather mode).
    Keys always cut the prompts; speech only when they are `interruptible`."""
    response = VoiceResponse()
    extra: dict[str, object] = {}
    if not options.keys_only:
        extra["speech_timeout"] = "auto"
        if options.hints:
            extra["hints"] = ",".join(options.hints)
    if spoken.language:
        extra["language"] = spoken.language
    if not options.interruptible:
        extra["barge_in"] = False
    collect = response.gather(
        input="dtmf" if options.keys_only else "dtmf speech",
        action=options.action,
        method="POST",
        timeout=options.timeout,
        num_digits=options.num_digits,
        finish_on_key=options.finish_on_key,
        action_on_empty_result=True,
        **extra,
    )
    spoken.say_into(collect)
    return str(response)


def record(
    spoken: Spoken, *, action: str, max_seconds: int, beep: bool, recording_callback: str
) -> str:
    """Play the prompts, then record the caller (gather mode) until a key, silence or
    `max_seconds`; Twilio posts the end to `action` and the file to `recording_callback`.
    An empty recording makes Twilio skip `action` and go on to the next verb: the redirect
    there posts to `action` all the same (no RecordingDuration: nothing was said), rather
    than let the document end, which hangs up."""
    response = VoiceResponse()
    spoken.say_into(response)
    response.record(
        action=action,
        method="POST",
        max_length=max_seconds,
        play_beep=beep,
        finish_on_key=ALL_KEYS,
        recording_status_callback=recording_callback,
        recording_status_callback_event="completed",
    )
    response.redirect(action, method="POST")
    return str(response)


def reject() -> str:
    """Refuse a call we cannot serve (the flow is broken, the database is down)."""
    response = VoiceResponse()
    response.reject()
    return str(response)
