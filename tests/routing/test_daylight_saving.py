"""Office hours across the clock changes of 2026 in Europe/Bucharest (29 March, 25 October).

EET is UTC+2, EEST (summer) UTC+3; the clocks change at 03:00/04:00 local time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.callbacks import callback_slots
from routing.hours import is_open, next_opening, open_intervals

BUCHAREST = ZoneInfo("Europe/Bucharest")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def length(intervals: list[tuple[datetime, datetime]]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta())


@pytest.fixture(scope="module")
def sunday_flow(make_flow):
    return make_flow(
        {
            "office": {"weekly": {"sun": ["08:00-16:30"]}},
            "morning": {"weekly": {"sun": ["00:00-12:00"]}},
            "in_gap": {"weekly": {"sun": ["03:15-05:00"]}},
            "in_repeat": {"weekly": {"sun": ["03:30-05:00"]}},
        }
    )


@pytest.mark.parametrize(
    ("friday", "monday_opening"),
    [
        ("2026-03-20", utc(2026, 3, 23, 6)),
        ("2026-03-27", utc(2026, 3, 30, 5)),
        ("2026-10-16", utc(2026, 10, 19, 5)),
        ("2026-10-23", utc(2026, 10, 26, 6)),
    ],
)
def test_monday_opening_moves_by_an_hour_in_utc(demo_flow, friday, monday_opening):
    friday_afternoon = datetime.fromisoformat(f"{friday}T15:00").replace(tzinfo=BUCHAREST)
    assert next_opening(demo_flow, "taxes", friday_afternoon) == monday_opening
    assert monday_opening.astimezone(BUCHAREST).hour == 8


def test_open_intervals_over_the_spring_weekend(demo_flow):
    friday = datetime(2026, 3, 27, tzinfo=BUCHAREST)
    assert open_intervals(demo_flow, "local_police", friday, friday + timedelta(days=4)) == [
        (utc(2026, 3, 27, 6), utc(2026, 3, 27, 12)),
        (utc(2026, 3, 28, 7), utc(2026, 3, 28, 11)),
        (utc(2026, 3, 30, 5), utc(2026, 3, 30, 13, 30)),
    ]


def test_open_intervals_over_the_autumn_weekend(demo_flow):
    friday = datetime(2026, 10, 23, tzinfo=BUCHAREST)
    assert open_intervals(demo_flow, "local_police", friday, friday + timedelta(days=4)) == [
        (utc(2026, 10, 23, 5), utc(2026, 10, 23, 11)),
        (utc(2026, 10, 24, 6), utc(2026, 10, 24, 10)),
        (utc(2026, 10, 26, 6), utc(2026, 10, 26, 14, 30)),
    ]


def test_open_intervals_are_clipped_to_the_query(demo_flow):
    start, end = utc(2026, 3, 30, 7, 15), utc(2026, 3, 30, 9)
    assert open_intervals(demo_flow, "taxes", start, end) == [(start, end)]
    assert open_intervals(demo_flow, "taxes", end, start) == []


@pytest.mark.parametrize(
    ("sunday", "interval"),
    [
        ("2026-03-22", (utc(2026, 3, 22, 6), utc(2026, 3, 22, 14, 30))),
        ("2026-03-29", (utc(2026, 3, 29, 5), utc(2026, 3, 29, 13, 30))),
        ("2026-10-25", (utc(2026, 10, 25, 6), utc(2026, 10, 25, 14, 30))),
    ],
)
def test_a_working_sunday_lasts_eight_and_a_half_hours_on_change_days(
    sunday_flow, sunday, interval
):
    day = datetime.fromisoformat(sunday).replace(tzinfo=BUCHAREST)
    intervals = open_intervals(sunday_flow, "office", day, day + timedelta(days=1))
    assert intervals == [interval]
    assert length(intervals) == timedelta(hours=8, minutes=30)


@pytest.mark.parametrize(
    ("sunday", "hours"), [("2026-03-22", 12), ("2026-03-29", 11), ("2026-10-25", 13)]
)
def test_a_range_across_the_change_lasts_its_real_length(sunday_flow, sunday, hours):
    day = datetime.fromisoformat(sunday).replace(tzinfo=BUCHAREST)
    intervals = open_intervals(sunday_flow, "morning", day, day + timedelta(days=1))
    assert length(intervals) == timedelta(hours=hours)


def test_a_skipped_start_opens_as_if_the_clocks_had_not_changed(sunday_flow):
    day = datetime(2026, 3, 29, tzinfo=BUCHAREST)
    intervals = open_intervals(sunday_flow, "in_gap", day, day + timedelta(days=1))
    assert intervals == [(utc(2026, 3, 29, 1, 15), utc(2026, 3, 29, 2))]
    four_am_summer_time = utc(2026, 3, 29, 1)
    assert not is_open(sunday_flow, "in_gap", four_am_summer_time)


def test_a_repeated_time_means_its_first_occurrence(sunday_flow):
    day = datetime(2026, 10, 25, tzinfo=BUCHAREST)
    intervals = open_intervals(sunday_flow, "in_repeat", day, day + timedelta(days=1))
    assert intervals == [(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))]
    second_quarter_to_four = datetime(2026, 10, 25, 3, 45, fold=1, tzinfo=BUCHAREST)
    assert second_quarter_to_four.astimezone(UTC) == utc(2026, 10, 25, 1, 45)
    assert is_open(sunday_flow, "in_repeat", second_quarter_to_four)


@pytest.mark.parametrize("department", ["office", "morning", "in_gap", "in_repeat"])
@pytest.mark.parametrize("saturday", ["2026-03-28", "2026-10-24"])
def test_is_open_agrees_with_open_intervals_across_the_change(sunday_flow, department, saturday):
    start = datetime.fromisoformat(saturday).replace(tzinfo=BUCHAREST).astimezone(UTC)
    end = start + timedelta(days=3)
    intervals = open_intervals(sunday_flow, department, start, end)
    at = start
    while at < end:
        inside = any(opens <= at < closes for opens, closes in intervals)
        assert is_open(sunday_flow, department, at) == inside, at
        at += timedelta(minutes=15)


def test_callback_slots_after_the_change_start_on_the_local_hour(demo_flow):
    friday_afternoon = datetime(2026, 3, 27, 15, tzinfo=BUCHAREST)
    slots = callback_slots(demo_flow, "taxes", friday_afternoon, {}, 1, 48, 30)
    assert slots == [utc(2026, 3, 30, 5), utc(2026, 3, 30, 5, 30), utc(2026, 3, 30, 6)]
