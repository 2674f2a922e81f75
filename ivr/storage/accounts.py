"""Accounts of the supervisor site: which departments one may see (user_departments), the
password policy, enabling, disabling and new passwords (each of which ends the sessions).

Admins and supervisors see every department whatever is linked here; an officer sees the
departments linked to their account and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash
from zxcvbn import zxcvbn

from ivr.storage.models import User, UserDepartment
from ivr.storage.sessions import end_sessions_of

MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3
"""zxcvbn's score (0–4): 3 is "safely unguessable" against an online attack."""


def departments_of(session: Session, user_id: int) -> list[str]:
    statement = select(UserDepartment.department).where(UserDepartment.user_id == user_id)
    return sorted(session.scalars(statement))


def link_departments(session: Session, user: User, departments: Iterable[str]) -> None:
    """Make `departments` the ones `user` may see (replacing the earlier ones)."""
    session.execute(delete(UserDepartment).where(UserDepartment.user_id == user.id))
    for department in sorted(set(departments)):
        session.add(UserDepartment(user_id=user.id, department=department))
    session.flush()


def password_problem(password: str, username: str = "") -> str | None:
    """Why `password` is refused (too short, or common or guessable by zxcvbn's
    estimate, which knows the commonest passwords, words and keyboard patterns), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    verdict = zxcvbn(password[:100], user_inputs=[username] if username else [])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        warning = verdict["feedback"]["warning"] or "This password is easy to guess."
        return f"the password is too easy to guess: {warning}"
    return None


def find_user(session: Session, username: str) -> User:
    """The user named `username`; LookupError when there is none."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise LookupError(f"no user {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def set_password(session: Session, user: User, password: str) -> None:
    """Change the password (ValueError when the policy refuses it) and end every session."""
    if problem := password_problem(password, user.username):
        raise ValueError(problem)
    user.password_hash = generate_password_hash(password)
    end_sessions_of(session, user.id)


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions."""
    user.active = active
    if not active:
        end_sessions_of(session, user.id)


def set_language(session: Session, user: User, language: str) -> None:
    """Remember the site's language `user` chose, for every later session and device."""
    user.language = language
