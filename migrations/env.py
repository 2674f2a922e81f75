"""Alembic's environment: the models' metadata, and the connection the Database hands over.

`Database.upgrade()` passes its own connection (so the SQLite pragmas and BEGIN handling
apply) in `config.attributes["connection"]`. SQLite migrations run in batch mode
(`render_as_batch`), because SQLite alters a table by copying it.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from ivr.storage.models import Base
from ivr.storage.types import UtcDateTime


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write UtcDateTime as its stored type, so a migration never imports the models."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through ivr.storage.db.Database (ivr db upgrade)")
run_migrations(connection)
