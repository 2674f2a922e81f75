"""`ivr call`: being written."""

import click


def register(main: click.Group) -> None:
    """Nothing to add yet."""
