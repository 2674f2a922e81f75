"""Closures edited on the supervisor site (a day off, an office closed for an event).

The flow's schedules hold the closures known when it was written; these are the ones added
later, stored in the database and passed in by the caller, so routing stays free of I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Closure:
    """The local `day` closed for `department`, or for every department when it is None."""

    day: date
    reason: str
    department: str | None = None

    def covers(self, department: str) -> bool:
        return self.department is None or self.department == department


def closures_of(closures: Iterable[Closure], department: str) -> dict[date, str]:
    """Local day → reason, for the closures that close `department`."""
    return {closure.day: closure.reason for closure in closures if closure.covers(department)}
