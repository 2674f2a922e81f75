"""Properties of office hours and callback slots for any instant of 2026-2027 (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.callbacks import callback_slots
from routing.hours import is_open, open_intervals
from routing.public_holidays import holiday_name

BUCHAREST = ZoneInfo("Europe/Bucharest")
SLOT = timedelta(minutes=30)
WINDOW = timedelta(hours=48)
DEPARTMENTS = ["public_relations", "urbanism", "local_police"]
CLOSURES = {datetime(2026, 12, 24).date(), datetime(2026, 12, 31).date()}

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31, 23, 59), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(
    requested_at=instants,
    department=st.sampled_from(DEPARTMENTS),
    capacity=st.integers(1, 2),
    data=st.data(),
)
def test_slots_are_free_aligned_and_inside_office_hours(
    demo_flow, requested_at, department, capacity, data
):
    first = requested_at.replace(minute=0, second=0, microsecond=0)
    booked = data.draw(
        st.dictionaries(st.integers(0, 200).map(lambda n: first + n * SLOT), st.integers(0, 3))
    )
    slots = callback_slots(demo_flow, department, requested_at, booked, capacity, 48, 30)

    assert len(slots) <= 3
    assert slots == sorted(set(slots))
    in_window = [slot < requested_at + WINDOW for slot in slots]
    assert all(in_window) or not any(in_window)
    for slot in slots:
        local = slot.astimezone(BUCHAREST)
        assert slot.tzinfo is UTC
        assert slot >= requested_at
        assert (local.minute, local.second, local.microsecond) in {(0, 0, 0), (30, 0, 0)}
        assert booked.get(slot, 0) < capacity
        assert is_open(demo_flow, department, slot)
        assert is_open(demo_flow, department, slot + SLOT - timedelta(minutes=1))
        assert holiday_name("RO", local.date()) is None
        assert local.date() not in CLOSURES


@settings(max_examples=150, deadline=None)
@given(at=instants, department=st.sampled_from(DEPARTMENTS))
def test_is_open_agrees_with_open_intervals(demo_flow, at, department):
    intervals = open_intervals(
        demo_flow, department, at - timedelta(days=1), at + timedelta(days=1)
    )
    inside = any(opens <= at < closes for opens, closes in intervals)
    assert is_open(demo_flow, department, at) == inside
    for opens, closes in intervals:
        assert opens < closes
        assert is_open(demo_flow, department, opens)
        assert is_open(demo_flow, department, closes - timedelta(microseconds=1))
