"""`ivr call --twilio URL`: one call placed the way Twilio places it (`ivr.twilio_caller`)
on a running `ivr serve`, driven by the inputs of the terminal call (DESIGN §10): after each
input the caller listens until the IVR has said what it says back; `silence` stays silent
until the IVR speaks again. Typed at a terminal, the line goes on between two lines (silence
flows, timers run, prompts play), as it would on a phone.
"""

from __future__ import annotations

import json
import select
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import click

from ivr.channels.terminal import Input, InputError, parse_input
from ivr.config import Settings
from ivr.twilio_caller import CITY_LINE, CallerError, TwilioCaller
from ivr.twilio_caller.line import Echoed, Entry, Fetched, Listened
from speech.audio import PHONE_RATE, AudioError, read_wav

TYPING_POLL_SECONDS = 0.2
"""Line time the caller listens between two looks at the terminal."""


def run(
    url: str,
    *,
    settings: Settings,
    caller: str | None,
    inputs: tuple[str, ...],
    as_json: bool,
    speed: float,
    auth_token: str | None,
    public_url: str | None,
    voice: str,
) -> None:
    token = auth_token or settings.twilio_auth_token
    if not token:
        raise click.UsageError(
            "--twilio signs every webhook: give --auth-token or set CIVICLINE_TWILIO_AUTH_TOKEN"
        )
    try:
        phone = TwilioCaller(
            url,
            auth_token=token,
            caller=caller or "anonymous",
            speed=speed,
            public_url=public_url or settings.public_url or None,
            account_sid=settings.twilio_account_sid or None,
            to=settings.twilio_from or CITY_LINE,
            voice=voice,
            observe=_print_json if as_json else _print_text,
        )
        with phone:
            phone.dial()
            phone.listen()
            for line in inputs if inputs else _typed_lines(phone):
                if phone.ended:
                    break
                try:
                    _answer(phone, parse_input(line))
                except InputError as error:
                    if inputs:
                        raise click.ClickException(f"--input {line!r}: {error}") from None
                    click.echo(f"  ({error})", err=True)
    except (CallerError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    summary = phone.summary()
    if as_json:
        click.echo(json.dumps({"summary": True, **summary}, ensure_ascii=False))
    else:
        click.echo(
            f"[call {summary['call_sid']} hung up by {summary['ended_by']} after"
            f" {summary['seconds']:.1f} s: {summary['prompts_heard']} prompts heard]"
        )


def _answer(phone: TwilioCaller, line: Input) -> None:
    """One input, then what the IVR says back."""
    match line.kind:
        case "keys":
            phone.press(line.value)
        case "say":
            phone.say(line.value)
        case "wav":
            phone.speak(_read_audio(Path(line.value)))
        case "transfer":
            phone.transfer(line.value)
        case "silence":
            phone.listen(reply=True)
            return
    if not phone.ended:
        phone.listen()


def _read_audio(path: Path) -> bytes:
    try:
        return read_wav(path, PHONE_RATE)
    except AudioError as error:
        raise InputError(str(error)) from None


def _typed_lines(phone: TwilioCaller) -> Iterator[str]:
    """Lines from the terminal, the caller listening while none is typed; lines piped in."""
    while not phone.ended:
        if sys.stdin.isatty():
            while not select.select([sys.stdin], [], [], 0)[0]:
                phone.listen(seconds=TYPING_POLL_SECONDS)
                if phone.ended:
                    return
        line = sys.stdin.readline()
        if not line:
            return
        yield line.rstrip("\n")


def _print_text(entry: Entry) -> None:
    if isinstance(entry, Echoed | Listened):
        return  # a heard prompt says its mark was echoed; silence is the rest
    text = str(entry)
    if isinstance(entry, Fetched) and entry.status == 200:
        text += f"  {_verbs(entry.twiml)}"
    click.echo(text)


def _print_json(entry: Entry) -> None:
    click.echo(json.dumps(entry.as_json(), ensure_ascii=False))


def _verbs(twiml: str) -> str:
    """A TwiML document in brief: `Connect(Stream)`, `Say Gather(Say) Redirect`."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        return "(not TwiML)"
    return " ".join(
        verb.tag + (f"({','.join(n.tag for n in verb)})" if len(verb) else "") for verb in root
    )
