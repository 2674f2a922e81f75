"""`ivr prompts build`: every prompt of the flow rendered ahead of calls, in each language."""

from __future__ import annotations

from pathlib import Path

import click

from ivr.config import Settings
from menus.loader import load_flow
from menus.problems import FlowError
from speech.prompts import WORDS_PER_MINUTE, build
from speech.synthesis import SynthesisError, Synthesizer


def register(main: click.Group) -> None:
    main.add_command(prompts)


@click.group()
def prompts() -> None:
    """Pre-rendered prompts (pyttsx3 with espeak-ng voices, or recorded WAVs)."""


@prompts.command("build")
@click.option("--flow", "flow_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rate", default=WORDS_PER_MINUTE, show_default=True, help="Words per minute.")
@click.option(
    "--timeout", default=30.0, show_default=True, help="Seconds one render may take (pyttsx3)."
)
@click.pass_obj
def build_prompts(settings: Settings, flow_path: Path | None, rate: int, timeout: float) -> None:
    """Render what changed into <data dir>/prompts/; recorded WAVs replace synthesised ones."""
    try:
        flow = load_flow(flow_path or settings.flow_path).flow
    except FlowError as error:
        raise click.ClickException(f"the flow cannot be used:\n{error}") from None
    root = settings.data_dir / "prompts"
    try:
        with Synthesizer(timeout_seconds=timeout) as synthesizer:
            reports = build(flow, root, synthesizer, words_per_minute=rate)
    except SynthesisError as error:
        raise click.ClickException(str(error)) from None
    for report in reports:
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(
            f"{report.language} (voice {report.voice}): {len(report.rendered)} rendered, "
            f"{report.cached} cached, {len(report.recorded)} recorded"
        )
    if not any(report.rendered for report in reports):
        click.echo(f"nothing to render: every prompt in {root} is up to date")
