"""A clock a test moves by hand, for the code that takes one (`ivr.clock.Clock`)."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    """Starts at `now` (the real time when not given) and stays there until the test moves
    it (`clock.now += ...`)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now
