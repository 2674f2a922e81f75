"""`ivr transcribe FILE.wav`: what a recogniser hears in a WAV file, free-form or at a node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ivr.bootstrap import shared_models
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.engine import actions as act
from ivr.engine import events as ev
from menus.loader import load_flow
from menus.problems import FlowError
from menus.schema import Flow, MenuNode
from speech.audio import PHONE_RATE, AudioError, read_wav
from speech.intents import PhraseMatcher
from speech.models import ModelError
from speech.recognizer import VoskRecognizer
from speech.transcript import transcribe as free_form


def register(main: click.Group) -> None:
    main.add_command(transcribe)


@click.command()
@click.argument("wav", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", help="The language (default: the flow's first with a model).")
@click.option("--flow", "flow_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--node", help="Listen with this menu node's grammar and say which intent.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def transcribe(
    settings: Settings,
    wav: Path,
    lang: str | None,
    flow_path: Path | None,
    node: str | None,
    as_json: bool,
) -> None:
    """Print the transcript, its confidence and, given --node, the intent and what a call
    would do with it: accept it, confirm it (medium confidence) or treat it as a no-match."""
    try:
        flow = load_flow(flow_path or settings.flow_path).flow
    except FlowError as error:
        raise click.ClickException(f"the flow cannot be used:\n{error}") from None
    spoken = [code for code, language in flow.languages.items() if language.model]
    language = lang or (spoken[0] if spoken else None)
    if language is None or language not in spoken:
        raise click.ClickException(f"no speech model for {language!r} in this flow")
    try:
        pcm = read_wav(wav, PHONE_RATE)
        model = shared_models().get(flow.languages[language].model or "")
    except (AudioError, ModelError) as error:
        raise click.ClickException(str(error)) from None
    if node is None:
        result = free_form(model, pcm, PHONE_RATE)
        out = {"text": result.text, "confidence": result.confidence, "words": result.words}
    else:
        out = _at_node(flow, node, language, model, pcm)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo("\n".join(f"{k}: {v}" for k, v in out.items() if k != "words"))


def _at_node(flow: Flow, node: str, language: str, model: Any, pcm: bytes) -> dict[str, Any]:
    menu = flow.nodes.get(node)
    if not isinstance(menu, MenuNode):
        raise click.ClickException(f"{node!r} is not a menu node of this flow")
    choices = {**menu.intents, **{f"@{n}": i for n, i in flow.global_intents}}
    intents = {name: tuple(i.phrases.get(language, [])) for name, i in choices.items()}
    listen = act.Listen(node=node, language=language, intents=intents, keys="")
    recognizer = VoskRecognizer(model, PHONE_RATE, no_input_seconds=float("inf"))
    recognizer.listen(listen)
    now = utc_now()
    events = recognizer.accept(pcm, now) + recognizer.finish(now)
    heard = next((e for e in events if isinstance(e, ev.SpeechRecognized)), None)
    if heard is None:
        return {"text": "", "confidence": 0.0, "intent": None, "decision": "no-match"}
    found = PhraseMatcher().match(heard.text, intents, language)
    confidence = min(heard.confidence, found.confidence) if found is not None else 0.0
    settings = flow.settings
    if found is None or confidence < settings.reject_threshold:
        decision = "no-match"
    else:
        decision = "accept" if confidence >= settings.confirm_threshold else "confirm"
    return {
        "text": heard.text,
        "confidence": heard.confidence,
        "intent": found.intent if found is not None and decision != "no-match" else None,
        "decision": decision,
    }
