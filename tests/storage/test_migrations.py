"""Alembic: one head, and a schema after `upgrade` that matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from ivr.storage.db import Database, alembic_config
from ivr.storage.models import Base


def test_migrations_have_exactly_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_upgrade_gives_the_models_schema(any_url: str) -> None:
    database = Database(any_url)
    try:
        database.upgrade()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names())
            version = context.get_current_revision()
    finally:
        database.dispose()
    assert differences == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_twice_changes_nothing(any_url: str) -> None:
    database = Database(any_url)
    try:
        database.upgrade()
        database.upgrade()
        with database.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        database.dispose()
