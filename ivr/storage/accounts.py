"""Which departments an account of the supervisor site may see (user_departments).

Admins and supervisors see every department whatever is linked here; an officer sees the
departments linked to their account and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ivr.storage.models import User, UserDepartment


def departments_of(session: Session, user_id: int) -> list[str]:
    statement = select(UserDepartment.department).where(UserDepartment.user_id == user_id)
    return sorted(session.scalars(statement))


def link_departments(session: Session, user: User, departments: Iterable[str]) -> None:
    """Make `departments` the ones `user` may see (replacing the earlier ones)."""
    session.execute(delete(UserDepartment).where(UserDepartment.user_id == user.id))
    for department in sorted(set(departments)):
        session.add(UserDepartment(user_id=user.id, department=department))
    session.flush()
