"""Where each part of a flow file is: a location (the keys and list indexes leading to a
value, such as ("nodes", "main", "intents", "report", "goto")) and its 1-based line.

The loader fills a `LineMap` while it reads the YAML; the validator asks it for the line of
whatever a problem is about. Nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Mapping

Location = tuple[str | int, ...]


def dotted(location: Location) -> str:
    """`nodes.main.intents.report.goto`, the way problems name a place in the file."""
    return ".".join(str(part) for part in location)


def about(location: Location, message: str) -> str:
    """A problem's message, led by the place it is about (none for the whole file)."""
    return f"{dotted(location)}: {message}" if location else message


class LineMap:
    """The line of every key (and list item) of one flow file."""

    def __init__(self, lines: Mapping[Location, int]) -> None:
        self._lines = dict(lines)

    def line(self, location: Location) -> int:
        """The line of `location`, or of its nearest ancestor present in the file."""
        for end in range(len(location), 0, -1):
            found = self._lines.get(location[:end])
            if found is not None:
                return found
        return self._lines.get((), 1)
