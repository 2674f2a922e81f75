"""Weekly hours, `extends`, closures and opening times of the demo city's departments."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from menus.schema import TimeRange
from routing.hours import closed_reason, is_open, next_opening, weekly_hours

BUCHAREST = ZoneInfo("Europe/Bucharest")
TUESDAY = datetime(2026, 11, 17, tzinfo=BUCHAREST)
SATURDAY = datetime(2026, 11, 21, tzinfo=BUCHAREST)
OFFICE_DEPARTMENTS = ["public_relations", "taxes", "roads", "lighting", "sanitation"]


def hours(text: str) -> TimeRange:
    start, end = text.split("-")
    return TimeRange(start=time.fromisoformat(start), end=time.fromisoformat(end))


def test_office_week(demo_flow):
    week = weekly_hours(demo_flow, "office")
    assert list(week) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert week["mon"] == week["thu"] == (hours("08:00-16:30"),)
    assert week["fri"] == (hours("08:00-14:00"),)
    assert week["sat"] == week["sun"] == ()


def test_extending_schedule_replaces_only_the_days_it_lists(demo_flow):
    office, urbanism = weekly_hours(demo_flow, "office"), weekly_hours(demo_flow, "urbanism")
    assert urbanism["tue"] == (hours("08:30-12:00"), hours("13:00-18:00"))
    assert {day: urbanism[day] for day in urbanism if day != "tue"} == {
        day: office[day] for day in office if day != "tue"
    }
    police = weekly_hours(demo_flow, "local_police")
    assert police["sat"] == (hours("09:00-13:00"),)
    assert police["tue"] == office["tue"]


def test_extending_schedule_can_close_a_day(make_flow):
    flow = make_flow(
        {
            "office": {"weekly": {"mon": ["08:00-16:00"]}},
            "closed_monday": {"extends": "office", "weekly": {"mon": []}},
        }
    )
    assert weekly_hours(flow, "closed_monday")["mon"] == ()


def test_ranges_come_in_order(make_flow):
    flow = make_flow({"split": {"weekly": {"mon": ["13:00-17:00", "08:00-12:00"]}}})
    assert weekly_hours(flow, "split")["mon"] == (hours("08:00-12:00"), hours("13:00-17:00"))


def test_extends_cycle_is_refused_naming_the_chain(make_flow):
    flow = make_flow(
        {
            "a": {"extends": "b"},
            "b": {"extends": "c"},
            "c": {"extends": "a", "weekly": {"mon": ["08:00-16:00"]}},
        }
    )
    with pytest.raises(ValueError, match="a -> b -> c -> a"):
        weekly_hours(flow, "a")
    with pytest.raises(ValueError, match="schedule cycle"):
        is_open(flow, "b", TUESDAY)


def test_schedule_extending_itself_is_a_cycle(make_flow):
    flow = make_flow({"loop": {"extends": "loop"}})
    with pytest.raises(ValueError, match="loop -> loop"):
        weekly_hours(flow, "loop")


def test_unknown_names_raise(demo_flow, make_flow):
    with pytest.raises(KeyError, match="unknown schedule 'missing'"):
        weekly_hours(demo_flow, "missing")
    orphan = make_flow({"child": {"extends": "missing"}})
    with pytest.raises(KeyError, match="unknown schedule 'missing'"):
        weekly_hours(orphan, "child")
    with pytest.raises(KeyError, match="unknown department 'parks'"):
        is_open(demo_flow, "parks", TUESDAY)


@pytest.mark.parametrize("department", [*OFFICE_DEPARTMENTS, "urbanism", "local_police"])
def test_every_department_is_open_on_a_normal_tuesday_morning(demo_flow, department):
    at = TUESDAY.replace(hour=10)
    assert is_open(demo_flow, department, at)
    assert closed_reason(demo_flow, department, at) is None


def test_urbanism_alone_is_open_on_tuesday_at_five_pm(demo_flow):
    at = TUESDAY.replace(hour=17)
    assert is_open(demo_flow, "urbanism", at)
    for department in [*OFFICE_DEPARTMENTS, "local_police"]:
        assert not is_open(demo_flow, department, at)
        assert closed_reason(demo_flow, department, at) == "outside office hours"


def test_urbanism_keeps_office_hours_on_other_days(demo_flow):
    wednesday_five_pm = TUESDAY.replace(hour=17) + timedelta(days=1)
    assert not is_open(demo_flow, "urbanism", wednesday_five_pm)


def test_urbanism_closes_for_lunch_on_tuesday(demo_flow):
    assert not is_open(demo_flow, "urbanism", TUESDAY.replace(hour=12, minute=30))
    assert is_open(demo_flow, "urbanism", TUESDAY.replace(hour=11, minute=59))
    assert is_open(demo_flow, "urbanism", TUESDAY.replace(hour=13))
    assert not is_open(demo_flow, "urbanism", TUESDAY.replace(hour=8, minute=15))


def test_start_is_inclusive_and_end_exclusive(demo_flow):
    assert not is_open(demo_flow, "taxes", TUESDAY.replace(hour=7, minute=59, second=59))
    assert is_open(demo_flow, "taxes", TUESDAY.replace(hour=8))
    assert is_open(demo_flow, "taxes", TUESDAY.replace(hour=16, minute=29, second=59))
    assert not is_open(demo_flow, "taxes", TUESDAY.replace(hour=16, minute=30))


def test_friday_closes_at_two(demo_flow):
    friday = TUESDAY + timedelta(days=3)
    assert is_open(demo_flow, "roads", friday.replace(hour=13, minute=59))
    assert not is_open(demo_flow, "roads", friday.replace(hour=14))


def test_saturday_police_hours(demo_flow):
    assert is_open(demo_flow, "local_police", SATURDAY.replace(hour=9))
    assert is_open(demo_flow, "local_police", SATURDAY.replace(hour=12, minute=59))
    assert not is_open(demo_flow, "local_police", SATURDAY.replace(hour=13))
    assert not is_open(demo_flow, "local_police", SATURDAY.replace(hour=8, minute=59))
    assert not is_open(demo_flow, "public_relations", SATURDAY.replace(hour=10))
    assert not is_open(demo_flow, "local_police", (SATURDAY + timedelta(days=1)).replace(hour=10))


def test_the_instant_matters_not_its_zone(demo_flow):
    local = TUESDAY.replace(hour=16, minute=15)
    assert is_open(demo_flow, "taxes", local.astimezone(UTC))
    assert is_open(demo_flow, "taxes", local.astimezone(ZoneInfo("America/New_York")))
    assert not is_open(demo_flow, "taxes", (local + timedelta(minutes=15)).astimezone(UTC))


def test_naive_datetimes_are_refused(demo_flow):
    with pytest.raises(ValueError, match="aware"):
        is_open(demo_flow, "taxes", datetime(2026, 11, 17, 10))


def test_closures_are_inherited_along_the_chain(demo_flow, make_flow):
    christmas_eve = datetime(2026, 12, 24, 10, tzinfo=BUCHAREST)
    assert closed_reason(demo_flow, "urbanism", christmas_eve) == "closure"
    flow = make_flow(
        {
            "office": {"weekly": {"mon": ["08:00-16:00"]}, "closures": ["2026-11-16"]},
            "branch": {"extends": "office", "closures": ["2026-11-23"]},
        }
    )
    for day in (16, 23):
        at = datetime(2026, 11, day, 10, tzinfo=BUCHAREST)
        assert closed_reason(flow, "branch", at) == "closure"
    assert closed_reason(flow, "office", datetime(2026, 11, 23, 10, tzinfo=BUCHAREST)) is None


def test_public_holidays_setting_comes_from_the_schedule_itself(make_flow):
    flow = make_flow(
        {
            "duty": {"weekly": {"tue": ["08:00-16:00"]}, "public_holidays": False},
            "office": {"extends": "duty"},
        }
    )
    national_day = datetime(2026, 12, 1, 10, tzinfo=BUCHAREST)
    assert is_open(flow, "duty", national_day)
    assert closed_reason(flow, "office", national_day) == "public holiday: National Day"


def test_department_without_schedule_is_refused(make_flow):
    flow = make_flow({}, departments={"dispatch": {"name": {"ro": "Dispecerat", "en": "Dispatch"}}})
    with pytest.raises(ValueError, match="department 'dispatch' has no schedule"):
        is_open(flow, "dispatch", TUESDAY)


def test_next_opening(demo_flow):
    tuesday_evening = TUESDAY.replace(hour=18)
    assert next_opening(demo_flow, "taxes", tuesday_evening) == datetime(
        2026, 11, 18, 6, tzinfo=UTC
    )
    open_now = TUESDAY.replace(hour=10, minute=7)
    assert next_opening(demo_flow, "taxes", open_now) == open_now
    assert next_opening(demo_flow, "taxes", open_now).tzinfo is UTC
    friday_evening = TUESDAY.replace(hour=18) + timedelta(days=3)
    assert next_opening(demo_flow, "local_police", friday_evening) == datetime(
        2026, 11, 21, 7, tzinfo=UTC
    )
    assert next_opening(demo_flow, "taxes", friday_evening) == datetime(2026, 11, 23, 6, tzinfo=UTC)


def test_next_opening_gives_up_after_the_horizon(demo_flow, make_flow):
    friday_evening = datetime(2026, 11, 20, 18, tzinfo=BUCHAREST)
    assert next_opening(demo_flow, "taxes", friday_evening, horizon_days=2) is None
    never = make_flow({"never": {}})
    assert next_opening(never, "never", friday_evening) is None
