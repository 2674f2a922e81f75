"""The city hall's directory in the database: departments and categories copied from the
flow (callflows.yaml is their master, DESIGN §4), and the users of the supervisor site."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.clock import utc_now
from ivr.storage.models import Category, Department, User
from ivr.storage.upsert import upsert

if TYPE_CHECKING:
    from menus.schema import Flow

ROLES = ("admin", "supervisor", "officer")


def sync_departments(session: Session, flow: Flow, at: datetime) -> None:
    """Make the departments and categories match `flow`: add new ones, update the others,
    deactivate those the flow no longer names (rows stay: tickets point at their codes).
    Each row is one upsert, so nodes starting at once on a shared database never collide."""
    synced = {"active": True, "synced_at": at}
    for code, department in flow.departments.items():
        row = {
            "code": code,
            "name": dict(department.name),
            "schedule": department.schedule,
            "transfer": department.transfer,
        }
        upsert(session, Department, row | synced, ["code"])
    for code, category in flow.categories.items():
        row = {
            "code": code,
            "name": dict(category.name),
            "department": category.department,
            "deadline_days": category.deadline_days,
        }
        upsert(session, Category, row | synced, ["code"])
    for model, named in ((Department, flow.departments), (Category, flow.categories)):
        gone = update(model).where(model.code.not_in(list(named)), model.active.is_(True))
        session.execute(gone.values(active=False, synced_at=at))


def add_user(
    session: Session, username: str, password: str, role: str, *, at: datetime | None = None
) -> User:
    """A new active user; ValueError for an unknown role or a username already taken."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=generate_password_hash(password),
        role=role,
        active=True,
        created_at=at or utc_now(),
    )
    session.add(user)
    session.flush()
    return user


def verify_user(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None (taking as long either way)."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        check_password_hash(_decoy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


@cache
def _decoy_hash() -> str:
    """A hash to check unknown usernames against, so timing does not tell which exist."""
    return generate_password_hash("not a password of anyone")
