"""`ivr users add`: accounts of the supervisor site, and the departments an officer sees."""

from __future__ import annotations

import os

import click

from ivr.bootstrap import open_database
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.storage.accounts import link_departments
from ivr.storage.audit import audit
from ivr.storage.directory import ROLES, add_user


@click.group("users")
def users() -> None:
    """Accounts of the supervisor site."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option(
    "--password-env",
    metavar="NAME",
    help="Read the password from this environment variable instead of a prompt.",
)
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
    """Add a user; the password is asked twice (or read from --password-env)."""
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise click.ClickException(f"the environment variable {password_env} is empty or unset")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    now = utc_now()
    database = open_database(settings)
    try:
        with database.session() as session:
            user = add_user(session, username, password, role, at=now)
            link_departments(session, user, departments)
            audit(
                session,
                actor="cli",
                action="user.add",
                target=username,
                details={"role": role, "departments": sorted(departments)},
                at=now,
            )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()
    click.echo(f"user {username} added ({role})")


def register(main: click.Group) -> None:
    main.add_command(users)
