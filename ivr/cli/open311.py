"""`ivr open311 keys add NAME|list|revoke NAME`: the API keys of Open311 clients. A new key
is printed once (only its hash is kept); every change is audited as `cli`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from ivr.bootstrap import open_database
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.open311 import keys as open311_keys

ACTOR = "cli"


@click.group("open311")
def open311() -> None:
    """The Open311 GeoReport v2 API."""


@open311.group("keys")
def keys() -> None:
    """API keys of the clients that may file reports."""


@contextmanager
def _session(settings: Settings, *, read_only: bool = False) -> Iterator[Session]:
    """A session of the migrated database; a refused key change becomes the command's error."""
    database = open_database(settings)
    try:
        with database.session(read_only=read_only) as session:
            yield session
    except open311_keys.KeyProblem as problem:
        raise click.ClickException(str(problem)) from None
    finally:
        database.dispose()


@keys.command("add")
@click.argument("name")
@click.pass_obj
def add(settings: Settings, name: str) -> None:
    """Issue a key for client NAME; it is shown this once."""
    with _session(settings) as session:
        key = open311_keys.issue(session, name, ACTOR, utc_now())
    click.echo(key)


@keys.command("list")
@click.pass_obj
def list_keys(settings: Settings) -> None:
    """The clients with a key, and whether it was revoked."""
    with _session(settings, read_only=True) as session:
        for row in open311_keys.listed(session):
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            click.echo(f"{row.name}\t{row.created_at:%Y-%m-%d}\t{state}")


@keys.command("revoke")
@click.argument("name")
@click.pass_obj
def revoke(settings: Settings, name: str) -> None:
    """Revoke client NAME's key: its POSTs are refused from now on."""
    with _session(settings) as session:
        open311_keys.revoke(session, name, ACTOR, utc_now())
    click.echo(f"revoked {name}")


def register(main: click.Group) -> None:
    main.add_command(open311)
