"""Office hours: when a department answers, and why it does not.

This module owns the meaning of a flow's `schedules`: the week of a schedule (resolving
`extends`), public holidays and closures, and the open intervals they leave. It never reads
a clock: every function takes the instant it is about. Instants come in aware (any zone)
and go out in UTC; schedules are in the city's local time (`flow.city.timezone`).

Closures added on the supervisor site (`routing.closures`) are an input of every function here
(`closures`), read from storage by the caller.

A department without a schedule is a bad flow (the validator rejects it) and raises here.

Local days and daylight saving time
-----------------------------------
Every local day is worked out on its own: the day's ranges are turned into instants with
that day's offset, so a range 08:00-16:30 lasts 8.5 hours on the days the clocks change too.
A local time is read as zoneinfo reads it with `fold=0` (its default):

- a time repeated when the clocks go back (03:00-03:59 on the last Sunday of October in
  Europe/Bucharest) means its first occurrence, so a range that spans the change lasts an
  hour longer than its wall-clock length;
- a time skipped when the clocks go forward (03:00-03:59 on the last Sunday of March) means
  the instant it would have been had the clocks not changed yet: 03:30 is 04:30 EEST. So a
  range never opens before its start on the wall clock, and one that spans the change lasts
  an hour less than its wall-clock length.

An instant belongs to its local date; that date's holidays, closures and ranges decide
whether the department is open, and the date's intervals never reach into the next date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from menus.schema import WEEKDAYS, Flow, Schedule, TimeRange, Weekday
from routing.closures import Closure, closures_of
from routing.departments import department
from routing.public_holidays import holiday_name

Interval = tuple[datetime, datetime]
"""[start, end) in UTC."""

_DAY = timedelta(days=1)


def weekly_hours(flow: Flow, schedule: str) -> dict[Weekday, tuple[TimeRange, ...]]:
    """The effective week of `schedule`: every weekday, closed days mapped to ()."""
    return _resolve(flow, schedule).week


def is_open(flow: Flow, department: str, at: datetime, closures: Sequence[Closure] = ()) -> bool:
    """Whether `department` is open at the instant `at` (aware)."""
    return closed_reason(flow, department, at, closures) is None


def closed_reason(
    flow: Flow, department: str, at: datetime, closures: Sequence[Closure] = ()
) -> str | None:
    """None when `department` is open at `at`; else why it is closed, in short English."""
    _require_aware(at, "at")
    calendar = _Calendar.of(flow, department, closures)
    day = at.astimezone(calendar.zone).date()
    reason = calendar.day_off(day)
    if reason is not None:
        return reason
    if any(start <= at < end for start, end in calendar.day_intervals(day)):
        return None
    return "outside office hours"


def next_opening(
    flow: Flow,
    department: str,
    at: datetime,
    horizon_days: int = 31,
    closures: Sequence[Closure] = (),
) -> datetime | None:
    """The first instant at or after `at` when `department` is open, within `horizon_days`."""
    end = at + timedelta(days=horizon_days)
    intervals = open_intervals(flow, department, at, end, closures)
    return intervals[0][0] if intervals else None


def open_intervals(
    flow: Flow,
    department: str,
    start: datetime,
    end: datetime,
    closures: Sequence[Closure] = (),
) -> list[Interval]:
    """The intervals within [start, end) when `department` is open, in order, in UTC.

    Intervals that touch are merged, so an interval may span several ranges or days.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    calendar = _Calendar.of(flow, department, closures)
    day, last = start.astimezone(calendar.zone).date(), end.astimezone(calendar.zone).date()
    merged: list[Interval] = []
    while day <= last:
        for opens, closes in calendar.day_intervals(day):
            opens, closes = max(opens, start), min(closes, end)
            if opens >= closes:
                continue
            if merged and merged[-1][1] >= opens:
                merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
            else:
                merged.append((opens, closes))
        day += _DAY
    return merged


@dataclass(frozen=True)
class _Hours:
    """A schedule with its `extends` chain resolved."""

    week: dict[Weekday, tuple[TimeRange, ...]]
    closures: frozenset[date]
    public_holidays: bool


@dataclass(frozen=True)
class _Calendar:
    """One department's days in the city's zone."""

    country: str
    zone: ZoneInfo
    hours: _Hours
    added: dict[date, str] = field(default_factory=dict)
    """Closures from the site: local day → reason."""

    @classmethod
    def of(cls, flow: Flow, name: str, closures: Sequence[Closure] = ()) -> _Calendar:
        schedule = department(flow, name).schedule
        if schedule is None:
            raise ValueError(f"department {name!r} has no schedule")
        zone, hours = ZoneInfo(flow.city.timezone), _resolve(flow, schedule)
        return cls(flow.city.country, zone, hours, closures_of(closures, name))

    def day_off(self, day: date) -> str | None:
        """Why the whole local `day` is closed (a holiday or a closure), or None."""
        if self.hours.public_holidays:
            name = holiday_name(self.country, day)
            if name is not None:
                return f"public holiday: {name}"
        if day in self.hours.closures:
            return "closure"
        if day in self.added:
            return f"closure: {self.added[day]}"
        return None

    def day_intervals(self, day: date) -> list[Interval]:
        """The open intervals of the local `day`, in order, in UTC."""
        day_start, day_end = self._instant(day, time()), self._instant(day + _DAY, time())
        if self.day_off(day) is not None:
            return []
        intervals = []
        for hours in self.hours.week[WEEKDAYS[day.weekday()]]:
            opens = max(self._instant(day, hours.start), day_start)
            closes = min(self._instant(day, hours.end), day_end)
            if opens < closes:
                intervals.append((opens, closes))
        return intervals

    def _instant(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)


def _resolve(flow: Flow, name: str) -> _Hours:
    chain = _chain(flow, name)
    week: dict[Weekday, list[TimeRange]] = {}
    for schedule in reversed(chain):
        week.update(schedule.weekly)
    return _Hours(
        week={day: tuple(sorted(week.get(day, []), key=_start)) for day in WEEKDAYS},
        closures=frozenset(day for schedule in chain for day in schedule.closures),
        public_holidays=chain[0].public_holidays,
    )


def _chain(flow: Flow, name: str) -> list[Schedule]:
    """`name`'s schedule, then the schedule it extends, and so on up to the root."""
    names = [name]
    chain: list[Schedule] = []
    while True:
        try:
            schedule = flow.schedules[names[-1]]
        except KeyError:
            raise KeyError(f"unknown schedule {names[-1]!r}") from None
        chain.append(schedule)
        if schedule.extends is None:
            return chain
        names.append(schedule.extends)
        if schedule.extends in names[:-1]:
            raise ValueError(f"schedule cycle: {' -> '.join(names)}")


def _start(hours: TimeRange) -> time:
    return hours.start


def _require_aware(value: datetime, name: str) -> None:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not {value!r}")
