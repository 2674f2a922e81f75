"""`ivr db`: the database schema (Alembic migrations) of the settings' database."""

from __future__ import annotations

import click
from alembic import command

from ivr.config import Settings
from ivr.storage.db import Database, alembic_config


@click.group("db")
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.pass_obj
def upgrade(settings: Settings) -> None:
    """Create or migrate the database to the newest schema."""
    settings.prepare_data_dir()
    database = Database(settings.resolved_database_url())
    try:
        database.upgrade()
    finally:
        database.dispose()
    click.echo(f"database {database.url.render_as_string()} is up to date")


@db.command("revision")
@click.argument("message")
@click.pass_obj
def revision(settings: Settings, message: str) -> None:
    """Write a new migration from the models' differences to an up-to-date database."""
    database = Database(settings.resolved_database_url())
    try:
        with database.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            config.set_section_option("post_write_hooks", "hooks", "ruff_format, ruff_fix")
            for hook, options in (("ruff_format", "format"), ("ruff_fix", "check --fix")):
                config.set_section_option("post_write_hooks", f"{hook}.type", "module")
                config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
                config.set_section_option(
                    "post_write_hooks", f"{hook}.options", f"{options} REVISION_SCRIPT_FILENAME"
                )
            command.revision(config, message=message, autogenerate=True)
    finally:
        database.dispose()


def register(main: click.Group) -> None:
    main.add_command(db)
