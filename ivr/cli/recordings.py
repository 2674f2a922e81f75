"""`ivr recordings copy SOURCE`: move a deployment's recording files into the store that
CIVICLINE_RECORDINGS_URL names (from one machine's disk into the shared object store)."""

from __future__ import annotations

import click
from minio.error import S3Error
from urllib3.exceptions import HTTPError

from ivr.config import Settings
from ivr.recordings import files_at, recording_files
from ivr.recordings.copy import copy_files


@click.group("recordings")
def recordings() -> None:
    """Recording files and their store."""


@recordings.command("copy")
@click.argument("source")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; copy nothing.")
@click.pass_obj
def copy_command(settings: Settings, source: str, dry_run: bool) -> None:
    """Copy every recording file of SOURCE (file:///a/directory or s3://bucket/prefix, with
    the CIVICLINE_S3_* endpoint and keys) that the store of CIVICLINE_RECORDINGS_URL lacks.
    The database is unchanged: a file keeps its key in every store. Run it again after a
    stop: it copies only what is still missing."""
    try:
        origin = files_at(source, settings)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="SOURCE") from None
    if source == settings.recordings_url:
        raise click.BadParameter("is CIVICLINE_RECORDINGS_URL itself", param_hint="SOURCE")
    try:
        done = copy_files(origin, recording_files(settings), dry_run=dry_run)
    except (S3Error, HTTPError, OSError) as error:
        raise click.ClickException(f"copy stopped (run it again to go on): {error}") from None
    verb = "would copy" if dry_run else "copied"
    gone = f", deleted meanwhile {done.missing}" if done.missing else ""
    click.echo(f"recording files: {verb} {done.copied}, already there {done.already_there}{gone}")


def register(main: click.Group) -> None:
    main.add_command(recordings)
