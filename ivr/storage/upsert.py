"""INSERT ... ON CONFLICT on both dialects, for rows that must be created or changed in one
statement (counters, preferences, opt-outs): no read-then-write race between sessions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_statement(session: Session, model: type[Any]) -> Any:
    """The dialect's own `insert(model)`, which has `on_conflict_do_update`/`_do_nothing`."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def upsert(
    session: Session,
    model: type[Any],
    values: Mapping[str, Any],
    key: Sequence[str],
    update: Mapping[str, Any] | None = None,
) -> None:
    """Insert `values`; when a row with the same `key` exists, set `update` on it instead
    (by default every value that is not part of the key)."""
    changes = update if update is not None else {k: v for k, v in values.items() if k not in key}
    statement = insert_statement(session, model).values(**values)
    statement = statement.on_conflict_do_update(index_elements=list(key), set_=changes)
    session.execute(statement)


def insert_once(
    session: Session, model: type[Any], values: Mapping[str, Any], key: Sequence[Any]
) -> bool:
    """Insert `values` unless a row with the same `key` exists; True when this call inserted.

    Told by RETURNING, not by rowcount: psycopg reports -1 for an ignored
    INSERT ... ON CONFLICT DO NOTHING, which would make every repeat look new."""
    primary_key = model.__mapper__.primary_key[0]
    statement = (
        insert_statement(session, model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(primary_key)
    )
    return session.execute(statement).first() is not None
