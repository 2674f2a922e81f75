"""Alembic: one head, and a schema after `upgrade` that matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from ivr.storage.db import Database, alembic_config
from ivr.storage.models import Base

SEARCH_INDEX = "ix_call_words_words"
"""The word search's index outside the models: pg_trgm GIN on PostgreSQL; on SQLite the
FTS5 table `call_words_fts` and its shadow tables (migration f18d0b1c2d3e)."""


def _modelled(obj: object, name: str | None, kind: str, reflected: bool, _other: object) -> bool:
    return not (name or "").startswith("call_words_fts") and name != SEARCH_INDEX


def test_migrations_have_exactly_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_upgrade_gives_the_models_schema(any_url: str) -> None:
    database = Database(any_url)
    try:
        database.upgrade()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _modelled}
            )
            differences = compare_metadata(context, Base.metadata)
            tables = {
                name
                for name in inspect(connection).get_table_names()
                if not name.startswith("call_words_fts")
            }
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
            context = MigrationContext.configure(connection, opts={"include_object": _modelled})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        database.dispose()
