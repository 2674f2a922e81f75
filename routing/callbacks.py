"""Callback slots (DESIGN §9): when a department's officers can call a caller back.

A slot is `slot_minutes` long and starts on the local clock at a multiple of `slot_minutes`
after midnight (:00 and :30 for 30 minutes). Slots lie wholly inside the department's open
intervals (`routing.hours`), so no call is ever placed outside office hours, on a public
holiday or on a closure. How many calls a slot already holds is the caller's data (`booked`);
this module only decides which slots to offer. A slot's capacity may vary: officers on leave
during a slot add nothing to it (`staffed_capacity`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from menus.schema import Flow
from routing.closures import Closure
from routing.hours import open_intervals

SEARCH_DAYS = 31
"""How far after the request slots are looked for when the window is full."""


@dataclass(frozen=True)
class Staff:
    """One officer as slots see them: how many callbacks they take in a slot, and when they
    are away (leave: [start, end) intervals, UTC)."""

    capacity: int
    away: tuple[tuple[datetime, datetime], ...] = ()

    def present(self, start: datetime, end: datetime) -> bool:
        return not any(
            leave_start < end and start < leave_end for leave_start, leave_end in self.away
        )


def staffed_capacity(staff: Sequence[Staff], unstaffed: int) -> Callable[[datetime, datetime], int]:
    """A slot's capacity: the capacities of the officers present for all of it added up, or
    `unstaffed` when the department has no officers on record at all."""

    def capacity(start: datetime, end: datetime) -> int:
        if not staff:
            return unstaffed
        return sum(person.capacity for person in staff if person.present(start, end))

    return capacity


def callback_slots(
    flow: Flow,
    department: str,
    requested_at: datetime,
    booked: Mapping[datetime, int],
    capacity: int | Callable[[datetime, datetime], int],
    window_hours: int,
    slot_minutes: int,
    count: int = 3,
    after: datetime | None = None,
    closures: Sequence[Closure] = (),
) -> list[datetime]:
    """The first `count` free slots (UTC starts) of `department` for a request at `requested_at`.

    A slot is free when `booked.get(start, 0)` is below its capacity (a number, or a function
    of the slot's start and end). Slots start no earlier than `requested_at` rounded up to a
    slot boundary, and later than `after` when given (the caller wants another slot). A slot
    belongs to the window when it starts before `requested_at + window_hours`; the window's
    free slots are returned (up to `count`, maybe fewer), and only when none is free the
    first free slots after the window, looked for up to SEARCH_DAYS after the request. An
    empty list means nothing is free in that time. `closures` are the site's (`routing.closures`).
    """
    if window_hours <= 0 or slot_minutes <= 0 or count <= 0:
        raise ValueError(
            f"window_hours, slot_minutes and count must be positive, not "
            f"{window_hours}, {slot_minutes} and {count}"
        )
    window_end = requested_at + timedelta(hours=window_hours)
    length = timedelta(minutes=slot_minutes)
    holds = capacity if callable(capacity) else (lambda _start, _end: capacity)
    free = [
        slot
        for slot in _slots(flow, department, requested_at, length, closures)
        if (after is None or slot > after) and booked.get(slot, 0) < holds(slot, slot + length)
    ]
    in_window = [slot for slot in free if slot < window_end]
    return (in_window or free)[:count]


def _slots(
    flow: Flow,
    department: str,
    start: datetime,
    length: timedelta,
    closures: Sequence[Closure],
) -> Iterator[datetime]:
    """Every slot from `start` on, within SEARCH_DAYS, in order."""
    zone = ZoneInfo(flow.city.timezone)
    end = start + timedelta(days=SEARCH_DAYS)
    for opens, closes in open_intervals(flow, department, start, end, closures):
        slot = _next_boundary(opens, zone, length)
        while slot + length <= closes:
            yield slot
            slot += length


def _next_boundary(instant: datetime, zone: ZoneInfo, length: timedelta) -> datetime:
    """The first instant at or after `instant` whose local time is a multiple of `length`."""
    wall = instant.astimezone(zone).replace(tzinfo=None)
    midnight = datetime.combine(wall.date(), time())
    steps = -(-(wall - midnight) // length)
    return instant + (midnight + steps * length - wall)
