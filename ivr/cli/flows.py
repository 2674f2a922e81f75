"""`ivr flows check [FILE...]`: every problem of a flow file as FILE:LINE: message.

Beyond the menus rules, each phrase is checked against the vocabulary of its language's
installed Vosk model (`speech.vocabulary`); a model that is not installed is a warning.
"""

from __future__ import annotations

from pathlib import Path

import click

from ivr.bootstrap import shared_models
from ivr.config import Settings
from menus.document import read_document
from menus.loader import load_flow
from menus.problems import FlowError
from speech.vocabulary import check_vocabulary


@click.group()
def flows() -> None:
    """Call flow files (callflows.yaml)."""


@flows.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def check(settings: Settings, files: tuple[Path, ...]) -> None:
    """Check flow files (default: the configured flow_path); exit 1 on any problem."""
    failed = False
    for path in files or (settings.flow_path,):
        try:
            loaded = load_flow(path)
        except FlowError as error:
            failed = True
            for problem in error.problems:
                click.echo(str(problem), err=True)
            continue
        flow = loaded.flow
        _, lines = read_document(loaded.source, loaded.path)
        vocabulary = check_vocabulary(flow, lines, loaded.path, shared_models())
        for warning in vocabulary.warnings:
            click.echo(f"{path}: {warning}", err=True)
        if vocabulary.problems:
            failed = True
            for problem in vocabulary.problems:
                click.echo(str(problem), err=True)
            continue
        languages = ", ".join(flow.languages)
        click.echo(f"{path}: ok ({len(flow.nodes)} nodes, languages {languages})")
    if failed:
        raise SystemExit(1)


def register(main: click.Group) -> None:
    main.add_command(flows)
