"""API keys of Open311 clients: issued once in clear, kept as SHA-256, revocable; every
change is audited. A key is 32 random bytes, so a plain hash (looked up directly) protects
it as well as a slow one would."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.audit import audit
from ivr.storage.models import Open311Key


class KeyProblem(ValueError):
    """A key name that is taken, or not found."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(session: Session, name: str, actor: str, at: datetime) -> str:
    """A new key for client `name`, returned in clear this once."""
    name = name.strip()
    if not name:
        raise KeyProblem("a key needs a name (the client it is for)")
    if session.scalar(select(Open311Key).where(Open311Key.name == name)) is not None:
        raise KeyProblem(f"a key named {name!r} exists already")
    key = secrets.token_urlsafe(32)
    session.add(Open311Key(name=name, key_hash=digest(key), created_at=at))
    audit(session, actor=actor, action="open311.key.add", target=name, details={}, at=at)
    return key


def revoke(session: Session, name: str, actor: str, at: datetime) -> None:
    row = session.scalar(select(Open311Key).where(Open311Key.name == name))
    if row is None:
        raise KeyProblem(f"no key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = at
    audit(session, actor=actor, action="open311.key.revoke", target=name, details={}, at=at)


def listed(session: Session) -> list[Open311Key]:
    return list(session.scalars(select(Open311Key).order_by(Open311Key.name)))


def find_active(session: Session, key: str) -> Open311Key | None:
    """The client a key belongs to, unless it was revoked."""
    row = session.scalar(select(Open311Key).where(Open311Key.key_hash == digest(key)))
    return row if row is not None and row.revoked_at is None else None
