"""`ivr prompts build`: every prompt of the flow rendered ahead of calls, in each language,
and the site's announcements in force or to come (each is also rendered when it is saved)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ivr.announcement_audio import render_announcements
from ivr.bootstrap import open_database
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.storage import notices
from menus.loader import load_flow
from menus.problems import FlowError
from menus.schema import Flow
from speech.prompts import WORDS_PER_MINUTE, BuildReport, build
from speech.synthesis import SynthesisError, Synthesizer


def register(main: click.Group) -> None:
    main.add_command(prompts)


@click.group()
def prompts() -> None:
    """Pre-rendered prompts (pyttsx3 with espeak-ng voices, or recorded WAVs)."""


def _announcements(settings: Settings, flow: Flow, root: Path, rate: int) -> list[BuildReport]:
    """The site's announcements in force or to come, rendered again (a cache built anew)."""
    today = utc_now().astimezone(ZoneInfo(flow.city.timezone)).date()
    database = open_database(settings)
    try:
        with database.session(read_only=True) as session:
            rows = notices.announcements_between(session, today, date.max)
            found = [(row.id, dict(row.texts)) for row in rows]
    finally:
        database.dispose()
    return render_announcements(root, found, words_per_minute=rate)


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
    try:
        reports += _announcements(settings, flow, root, rate)
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
