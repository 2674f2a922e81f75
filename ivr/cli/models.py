"""`ivr models list|fetch`: the Vosk models this machine has, and downloading one."""

from __future__ import annotations

import click

from speech.models import ModelError, fetch, installed


def register(main: click.Group) -> None:
    main.add_command(models)


@click.group()
def models() -> None:
    """Vosk speech models."""


@models.command("list")
def list_models() -> None:
    """Installed models: in Vosk's cache and as Python packages."""
    found = installed()
    if not found:
        click.echo("no Vosk model installed; every language runs keypad-only")
    for model in found:
        click.echo(f"{model.name}\t{model.source}\t{model.path}")


@models.command("fetch")
@click.argument("name")
def fetch_model(name: str) -> None:
    """Download NAME into Vosk's cache with Vosk's own downloader (needs internet)."""
    try:
        path = fetch(name)
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{name}: {path}")
