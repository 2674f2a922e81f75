"""`ivr call`: walk the phone line from the terminal (DESIGN §10)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from ivr.bootstrap import call_services, open_database, recognizer_for
from ivr.channels.terminal import InputError, TerminalCall, parse_input
from ivr.cli import call_twilio
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.engine import actions as act
from ivr.engine.ports import Recognizer
from ivr.recordings import BadRecording, recording_store
from menus.problems import FlowError
from menus.schema import Flow
from speech.audio import PHONE_RATE, AudioError, read_wav
from speech.models import ModelError
from speech.playback import PlaybackError, Player
from speech.prompts import PromptLibrary, PromptMissing


def register(main: click.Group) -> None:
    main.add_command(call)


@click.command()
@click.option(
    "--from", "caller", metavar="NUMBER", help="The caller's number; omit to withhold it."
)
@click.option("--lang", help="Answer the language question ahead (ro, en...).")
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="VALUE",
    help="keys:12#, say:TEXT, wav:PATH, silence, transfer:no-answer; repeatable, in order.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event and action.")
@click.option("--at", "at_local", metavar="YYYY-MM-DDTHH:MM", help="Local time of the call.")
@click.option("--flow", "flow_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--audio", is_flag=True, help="Also play each prompt (from `ivr prompts build`) aloud."
)
@click.option(
    "--twilio",
    "twilio_url",
    metavar="URL",
    help="Call the `ivr serve` at URL (e.g. http://127.0.0.1:8080) as Twilio would.",
)
@click.option("--auth-token", help="With --twilio: the auth token (CIVICLINE_TWILIO_AUTH_TOKEN).")
@click.option(
    "--public-url", help="With --twilio: the URL Twilio knows the server by (CIVICLINE_PUBLIC_URL)."
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="With --twilio: line time runs this many times faster than real time.",
)
@click.option(
    "--voice", default="en", show_default=True, help="With --twilio: espeak-ng voice for say:."
)
@click.pass_obj
def call(
    settings: Settings,
    caller: str | None,
    lang: str | None,
    inputs: tuple[str, ...],
    as_json: bool,
    at_local: str | None,
    flow_path: Path | None,
    audio: bool,
    twilio_url: str | None,
    auth_token: str | None,
    public_url: str | None,
    speed: float,
    voice: str,
) -> None:
    """Call the IVR: typed lines are what you say, digits/*/# are keys, an empty line is silence."""
    if twilio_url:
        if lang or at_local or flow_path or audio:
            raise click.UsageError("--lang, --at, --flow and --audio do not apply to --twilio")
        call_twilio.run(
            twilio_url,
            settings=settings,
            caller=caller,
            inputs=inputs,
            as_json=as_json,
            speed=speed,
            auth_token=auth_token,
            public_url=public_url,
            voice=voice,
        )
        return
    if flow_path:
        settings = settings.model_copy(update={"flow_path": flow_path})
    database = open_database(settings)
    try:
        services = call_services(settings, database)
    except FlowError as error:
        raise click.ClickException(f"the flow cannot be used:\n{error}") from None
    flow = services.flows.current().flow
    if lang is not None and lang not in flow.languages:
        raise click.BadParameter(
            f"the flow speaks {', '.join(flow.languages)}", param_hint="--lang"
        )
    show: Callable[[act.Action], None] = _show_text if not as_json else lambda action: None
    if audio:
        show = _played(show, settings.data_dir / "prompts")
    phone = TerminalCall(
        services=services,
        recordings=recording_store(settings, database),
        show=show,
        now=_start_time(at_local, ZoneInfo(flow.city.timezone)),
        simulated=at_local is not None,
        speech=lambda language: _recognizer(flow, language),
        read_audio=_read_audio,
    )
    phone.start(caller=caller, language=lang, observe=_print_json if as_json else None)
    for line in inputs if inputs else _typed_lines():
        if phone.ended:
            break
        try:
            phone.answer(parse_input(line))
        except (InputError, BadRecording) as error:
            if inputs:
                raise click.ClickException(f"--input {line!r}: {error}") from None
            click.echo(f"  ({error})", err=True)
    phone.hang_up()
    summary = phone.summary()
    if as_json:
        click.echo(json.dumps({"summary": True, **summary}, ensure_ascii=False))
    else:
        click.echo(
            f"[call {summary['call_id']} ended: {summary['outcome']}"
            + (f", ticket {summary['ticket_ref']}" if summary["ticket_ref"] else "")
            + "]"
        )


def _start_time(at_local: str | None, zone: ZoneInfo) -> datetime:
    if at_local is None:
        return utc_now()
    try:
        at = datetime.fromisoformat(at_local)
    except ValueError:
        raise click.BadParameter(
            "expected a local time like 2026-12-25T10:00", param_hint="--at"
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(UTC)


def _recognizer(flow: Flow, language: str) -> Recognizer:
    try:
        return recognizer_for(flow, language)
    except ModelError as error:
        raise InputError(str(error)) from None


def _read_audio(path: Path) -> bytes:
    try:
        return read_wav(path, PHONE_RATE)
    except AudioError as error:
        raise InputError(str(error)) from None


def _typed_lines() -> Iterator[str]:
    while True:
        try:
            yield input("> ") if sys.stdin.isatty() else next(sys.stdin).rstrip("\n")
        except (EOFError, StopIteration):
            return


def _show_text(action: act.Action) -> None:
    match action:
        case act.Say():
            click.echo(f"IVR: {action.text}")
        case act.Record():
            click.echo(
                f"  [recording, up to {action.max_seconds} s: type what you say, or wav:PATH]"
            )
        case act.StartCallRecording():
            click.echo("  [the call is recorded from now on; the terminal has no audio to keep]")
        case act.Transfer():
            click.echo(
                f"  [transferring to {action.target}: answered, * to give up,"
                " or type transfer:busy or transfer:no-answer]"
            )
        case act.HangUp():
            click.echo("  [the IVR hangs up]")


def _played(show: Callable[[act.Action], None], prompts: Path) -> Callable[[act.Action], None]:
    """`show`, then each Say's audio from the prompt cache on this machine's speakers."""
    try:
        player = Player.find()
    except PlaybackError as error:
        raise click.ClickException(str(error)) from None
    library = PromptLibrary(prompts)

    def show_and_play(action: act.Action) -> None:
        show(action)
        if not isinstance(action, act.Say):
            return
        try:
            player.play(library.compose(action))
        except (PromptMissing, PlaybackError) as error:
            click.echo(f"  (not played: {error})", err=True)

    return show_and_play


def _print_json(kind: str, type_name: str, payload: dict[str, Any]) -> None:
    click.echo(json.dumps({kind: type_name, **payload}, ensure_ascii=False))
