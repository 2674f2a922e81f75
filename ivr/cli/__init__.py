"""The `ivr` command: one click group, one module per family of subcommands."""

from __future__ import annotations

import importlib
import os

import click
from pydantic import ValidationError

from ivr.config import Settings
from ivr.logs import configure_logging

PRIVATE_UMASK = 0o077
"""Every file and directory `ivr` creates (the database, recordings, prompts, exports) is
its owner's alone: callers' numbers and voices are personal data."""


@click.group()
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING... (CIVICLINE_LOG_LEVEL)")
@click.pass_context
def main(ctx: click.Context, log_level: str | None) -> None:
    """civicline: a phone IVR for city halls."""
    os.umask(PRIVATE_UMASK)
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"CIVICLINE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        raise click.ClickException(f"bad settings: {problems}") from None
    configure_logging(log_level or settings.log_level)
    ctx.obj = settings


COMMAND_MODULES = (
    "call",
    "callbacks",
    "db",
    "flows",
    "models",
    "open311",
    "privacy",
    "prompts",
    "recordings",
    "serve",
    "sip",
    "tickets",
    "transcribe",
    "users",
    "worker",
)
"""Modules of ivr/cli/, each with a `register(main)` adding its subcommands."""


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"ivr.cli.{name}").register(main)


_register()
