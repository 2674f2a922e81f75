"""Callback slots (DESIGN §9) for the demo city: 30-minute slots, a 48-hour window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.callbacks import callback_slots
from routing.hours import closed_reason

BUCHAREST = ZoneInfo("Europe/Bucharest")
HALF_HOUR = timedelta(minutes=30)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUCHAREST)


def slots(flow, requested_at, booked=None, *, department="taxes", capacity=2, count=3, **kw):
    settings = {"window_hours": 48, "slot_minutes": 30} | kw
    found = callback_slots(
        flow, department, requested_at, booked or {}, capacity, count=count, **settings
    )
    assert all(slot.tzinfo is UTC for slot in found)
    return [slot.astimezone(BUCHAREST) for slot in found]


def every_slot(start: datetime, end: datetime) -> list[datetime]:
    found = []
    while start < end:
        found.append(start.astimezone(UTC))
        start += HALF_HOUR
    return found


def test_slots_start_at_the_next_boundary(demo_flow):
    assert slots(demo_flow, local(2026, 11, 17, 10, 10)) == [
        local(2026, 11, 17, 10, 30),
        local(2026, 11, 17, 11),
        local(2026, 11, 17, 11, 30),
    ]
    assert slots(demo_flow, local(2026, 11, 17, 10))[0] == local(2026, 11, 17, 10)
    assert slots(demo_flow, local(2026, 11, 17, 10, 0, 1))[0] == local(2026, 11, 17, 10, 30)


def test_a_request_before_opening_gets_the_first_slots_of_the_day(demo_flow):
    assert slots(demo_flow, local(2026, 11, 17, 6, 12)) == [
        local(2026, 11, 17, 8),
        local(2026, 11, 17, 8, 30),
        local(2026, 11, 17, 9),
    ]


def test_the_last_slot_ends_at_closing_time(demo_flow):
    assert slots(demo_flow, local(2026, 11, 17, 16)) == [
        local(2026, 11, 17, 16),
        local(2026, 11, 18, 8),
        local(2026, 11, 18, 8, 30),
    ]
    assert slots(demo_flow, local(2026, 11, 17, 16, 5))[0] == local(2026, 11, 18, 8)


def test_full_slots_are_skipped(demo_flow):
    booked = {
        local(2026, 11, 17, 10, 30).astimezone(UTC): 2,
        local(2026, 11, 17, 11).astimezone(UTC): 1,
        local(2026, 11, 17, 11, 30).astimezone(UTC): 3,
    }
    assert slots(demo_flow, local(2026, 11, 17, 10, 10), booked) == [
        local(2026, 11, 17, 11),
        local(2026, 11, 17, 12),
        local(2026, 11, 17, 12, 30),
    ]
    assert slots(demo_flow, local(2026, 11, 17, 10, 10), booked, capacity=1) == [
        local(2026, 11, 17, 12),
        local(2026, 11, 17, 12, 30),
        local(2026, 11, 17, 13),
    ]


def test_no_capacity_means_no_slot(demo_flow):
    assert slots(demo_flow, local(2026, 11, 17, 10), capacity=0) == []


def test_friday_afternoon_request_lands_on_monday(demo_flow):
    assert slots(demo_flow, local(2026, 11, 20, 14, 30)) == [
        local(2026, 11, 23, 8),
        local(2026, 11, 23, 8, 30),
        local(2026, 11, 23, 9),
    ]


def test_the_window_crossing_a_weekend_holds_only_working_hours(demo_flow):
    thursday = local(2026, 11, 19, 15)
    found = slots(demo_flow, thursday, count=50)
    thursday_slots = [local(2026, 11, 19, 15), local(2026, 11, 19, 15, 30), local(2026, 11, 19, 16)]
    friday_slots = [local(2026, 11, 20, 8) + n * HALF_HOUR for n in range(12)]
    assert found == thursday_slots + friday_slots


def test_the_window_is_respected_when_only_part_of_it_is_free(demo_flow):
    thursday = local(2026, 11, 19, 15)
    booked = dict.fromkeys(every_slot(thursday, local(2026, 11, 20, 13, 30)), 2)
    assert slots(demo_flow, thursday, booked) == [local(2026, 11, 20, 13, 30)]


def test_a_full_window_falls_back_to_the_first_free_slots_after_it(demo_flow):
    thursday = local(2026, 11, 19, 15)
    booked = dict.fromkeys(every_slot(thursday, local(2026, 11, 20, 14)), 2)
    booked[local(2026, 11, 23, 8, 30).astimezone(UTC)] = 2
    assert slots(demo_flow, thursday, booked) == [
        local(2026, 11, 23, 8),
        local(2026, 11, 23, 9),
        local(2026, 11, 23, 9, 30),
    ]


def test_a_shorter_window(demo_flow):
    tuesday_afternoon = local(2026, 11, 17, 15, 30)
    assert slots(demo_flow, tuesday_afternoon, window_hours=1, count=5) == [
        local(2026, 11, 17, 15, 30),
        local(2026, 11, 17, 16),
    ]


def test_new_year(demo_flow):
    assert closed_reason(demo_flow, "taxes", local(2026, 12, 31, 10)) == "closure"
    for day in (1, 2):
        reason = closed_reason(demo_flow, "taxes", local(2027, 1, day, 10))
        assert reason == "public holiday: New Year's Day"
    requested = local(2026, 12, 30, 15)
    assert slots(demo_flow, requested) == [
        local(2026, 12, 30, 15),
        local(2026, 12, 30, 15, 30),
        local(2026, 12, 30, 16),
    ]
    last_afternoon_full = dict.fromkeys(every_slot(requested, local(2026, 12, 30, 16, 30)), 2)
    assert slots(demo_flow, requested, last_afternoon_full) == [
        local(2027, 1, 4, 8),
        local(2027, 1, 4, 8, 30),
        local(2027, 1, 4, 9),
    ]
    assert slots(demo_flow, local(2026, 12, 30, 16, 30))[0] == local(2027, 1, 4, 8)


def test_urbanism_lunch_break_has_no_slots(demo_flow):
    assert slots(demo_flow, local(2026, 11, 17, 11, 30), department="urbanism") == [
        local(2026, 11, 17, 11, 30),
        local(2026, 11, 17, 13),
        local(2026, 11, 17, 13, 30),
    ]


def test_hour_long_slots_start_on_the_hour(demo_flow):
    assert slots(demo_flow, local(2026, 11, 17, 8), department="urbanism", slot_minutes=60) == [
        local(2026, 11, 17, 9),
        local(2026, 11, 17, 10),
        local(2026, 11, 17, 11),
    ]


def test_police_saturday_slots(demo_flow):
    assert slots(demo_flow, local(2026, 11, 21, 12), department="local_police") == [
        local(2026, 11, 21, 12),
        local(2026, 11, 21, 12, 30),
        local(2026, 11, 23, 8),
    ]


def test_nothing_free_within_the_search_gives_no_slot(make_flow):
    never = make_flow({"never": {}})
    assert slots(never, local(2026, 11, 17, 10), department="never") == []


@pytest.mark.parametrize(
    "bad", [{"window_hours": 0}, {"slot_minutes": 0}, {"count": 0}, {"slot_minutes": -30}]
)
def test_bad_parameters_are_refused(demo_flow, bad):
    settings = {"window_hours": 48, "slot_minutes": 30, "count": 3} | bad
    with pytest.raises(ValueError, match="must be positive"):
        callback_slots(demo_flow, "taxes", local(2026, 11, 17, 10), {}, 1, **settings)


def test_a_slot_that_would_run_past_closing_is_not_offered(make_flow):
    flow = make_flow({"short": {"weekly": {"tue": ["08:10-09:45"]}}})
    assert slots(flow, local(2026, 11, 17, 8), department="short", count=5) == [
        local(2026, 11, 17, 8, 30),
        local(2026, 11, 17, 9),
    ]
