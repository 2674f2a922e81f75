"""`ivr users add|list|disable|enable|set-password|unlock|signout`: accounts of the
supervisor site, and the departments an officer sees.

A password is never a command-line argument (it would sit in the shell history and in
`ps`): it is asked twice on a terminal, read from standard input otherwise, or read from
the environment variable `--password-env` names.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.orm import Session

from ivr.bootstrap import open_database
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.storage import sessions, throttle
from ivr.storage.accounts import (
    find_user,
    link_departments,
    list_users,
    password_problem,
    set_active,
    set_password,
)
from ivr.storage.audit import audit
from ivr.storage.directory import ROLES, add_user
from ivr.storage.models import User

PASSWORD_ENV = click.option(
    "--password-env",
    metavar="NAME",
    help="Read the password from this environment variable instead of a prompt or stdin.",
)


@click.group("users")
def users() -> None:
    """Accounts of the supervisor site."""


def read_password(password_env: str | None) -> str:
    """The new password: from `password_env`, a prompt (twice) on a terminal, else stdin."""
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise click.ClickException(f"the environment variable {password_env} is empty or unset")
        return password
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("no password on standard input")
    return password


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    database = open_database(settings)
    try:
        with database.session() as session:
            yield session
    except (LookupError, ValueError) as error:
        raise click.ClickException(str(error.args[0] if error.args else error)) from None
    finally:
        database.dispose()


def _audit(session: Session, action: str, username: str, **details: Any) -> None:
    audit(session, actor="cli", action=action, target=username, details=details, at=utc_now())


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@PASSWORD_ENV
@click.option(
    "--department",
    "departments",
    multiple=True,
    metavar="CODE",
    help="A department an officer may see (repeatable; admins and supervisors see all).",
)
@click.pass_obj
def add(
    settings: Settings,
    username: str,
    role: str,
    password_env: str | None,
    departments: tuple[str, ...],
) -> None:
    """Add a user; the password is asked twice (or read from stdin or --password-env)."""
    password = read_password(password_env)
    if problem := password_problem(password, username):
        raise click.ClickException(problem)
    with _session(settings) as session:
        user = add_user(session, username, password, role, at=utc_now())
        link_departments(session, user, departments)
        _audit(session, "user.add", username, role=role, departments=sorted(departments))
    click.echo(f"user {username} added ({role})")


@users.command("list")
@click.pass_obj
def list_command(settings: Settings) -> None:
    """Every account: name, role, state, two-factor sign-in, open sessions."""
    now = utc_now()
    with _session(settings) as session:
        counts = sessions.session_counts(session)
        for user in list_users(session):
            key = throttle.account_key(user.username)
            locked = throttle.locked_until(session, [key], now)
            state = "disabled" if not user.active else "locked" if locked else "active"
            two_factor = "2fa" if user.totp_secret else "-"
            count = counts.get(user.id, 0)
            click.echo(f"{user.username}\t{user.role}\t{state}\t{two_factor}\t{count} sessions")


def _user_command(name: str, action: str, change: Callable[[Session, User], str]) -> None:
    """A command `ivr users NAME USERNAME` that applies `change` and audits `action`."""

    @users.command(name, help=change.__doc__)
    @click.argument("username")
    @click.pass_obj
    def command(settings: Settings, username: str) -> None:
        with _session(settings) as session:
            user = find_user(session, username)
            message = change(session, user)
            _audit(session, action, username)
        click.echo(message)


def _disable(session: Session, user: User) -> str:
    """Disable an account and end its sessions."""
    set_active(session, user, False)
    return f"user {user.username} disabled; its sessions have ended"


def _enable(session: Session, user: User) -> str:
    """Enable a disabled account."""
    set_active(session, user, True)
    return f"user {user.username} enabled"


def _unlock(session: Session, user: User) -> str:
    """Unlock an account locked after failed sign-ins."""
    throttle.clear(session, throttle.account_key(user.username))
    return f"user {user.username} unlocked"


def _sign_out(session: Session, user: User) -> str:
    """End every session of an account (sign out everywhere)."""
    ended = sessions.end_sessions_of(session, user.id)
    return f"user {user.username} signed out of {ended} sessions"


_user_command("disable", "user.disable", _disable)
_user_command("enable", "user.enable", _enable)
_user_command("unlock", "user.unlock", _unlock)
_user_command("signout", "user.signout", _sign_out)


@users.command("set-password")
@click.argument("username")
@PASSWORD_ENV
@click.pass_obj
def set_password_command(settings: Settings, username: str, password_env: str | None) -> None:
    """Set a new password (asked twice, or read from stdin); ends the user's sessions."""
    password = read_password(password_env)
    with _session(settings) as session:
        set_password(session, find_user(session, username), password)
        _audit(session, "user.password", username)
    click.echo(f"password of {username} changed; its sessions have ended")


def register(main: click.Group) -> None:
    main.add_command(users)
