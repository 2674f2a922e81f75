"""`ivr privacy export|erase|purge`: a caller's data on request, and the retention purge."""

from __future__ import annotations

from pathlib import Path

import click

from ivr.bootstrap import open_database
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.privacy.erase import OpenTickets, erase
from ivr.privacy.export import export
from ivr.privacy.retention import purge
from ivr.privacy.subject import BadNumber, Subject, subject
from ivr.recordings import recording_files
from menus.registry import FlowRegistry


@click.group("privacy")
def privacy() -> None:
    """Export or erase what is held about a phone number; run the retention purge."""


def _subject(settings: Settings, number: str) -> Subject:
    region = FlowRegistry(settings.flow_path).current().flow.city.country
    try:
        return subject(number, region)
    except BadNumber as error:
        raise click.BadParameter(str(error), param_hint="NUMBER") from None


@privacy.command("export")
@click.argument("number")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The zip to write.")
@click.pass_obj
def export_command(settings: Settings, number: str, out: Path | None) -> None:
    """Write everything held about NUMBER (any format) to a zip: data.json and the audio."""
    person = _subject(settings, number)
    out = out or Path(f"privacy-export-{person.e164.lstrip('+')}.zip")
    database = open_database(settings)
    try:
        with out.open("wb") as file:
            done = export(
                database,
                person,
                recording_files(settings),
                file,
                actor="cli",
                at=utc_now(),
            )
    finally:
        database.dispose()
    rows = ", ".join(f"{table} {count}" for table, count in done.counts.items()) or "nothing"
    click.echo(f"{out}: {rows}; {done.audio_files} audio files")
    for path in done.missing_files:
        click.echo(f"recording file missing: {path}", err=True)


@privacy.command("erase")
@click.argument("number")
@click.option("--force", is_flag=True, help="Also anonymise open tickets (they stay open).")
@click.pass_obj
def erase_command(settings: Settings, number: str, force: bool) -> None:
    """Erase or anonymise everything held about NUMBER (any format), files included."""
    person = _subject(settings, number)
    database = open_database(settings)
    try:
        done = erase(
            database,
            person,
            recording_files(settings),
            actor="cli",
            at=utc_now(),
            force=force,
        )
    except OpenTickets as error:
        raise click.ClickException(f"{person.masked}: nothing erased: {error}") from None
    finally:
        database.dispose()
    click.echo(f"{done.number}: erased")
    for verb, counts in (("deleted", done.deleted), ("anonymised", done.anonymised)):
        for table, count in counts.items():
            click.echo(f"  {table}: {count} {verb}")
    click.echo(f"  recording files: {len(done.files_deleted)} deleted")
    for path in done.files_missing:
        click.echo(f"  recording file already missing: {path}")
    if done.open_tickets:
        click.echo(f"  open tickets kept, anonymised: {', '.join(done.open_tickets)}")


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what is past its time; change nothing.")
@click.pass_obj
def purge_command(settings: Settings, dry_run: bool) -> None:
    """Remove or anonymise what is past its retention (CIVICLINE_RETENTION_*), now."""
    database = open_database(settings)
    try:
        done = purge(
            database,
            settings.retention(),
            recording_files(settings),
            now=utc_now(),
            dry_run=dry_run,
        )
    finally:
        database.dispose()
    verb = "would be purged" if dry_run else "purged"
    for kind, count in done.items():
        click.echo(f"{kind}: {count} {verb}")


def register(main: click.Group) -> None:
    main.add_command(privacy)
