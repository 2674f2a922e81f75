"""Public holidays close departments: Romania (the demo city) and Bulgaria (an inline city).

The holiday names are the `holidays` package's English names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from routing.hours import closed_reason, is_open
from routing.public_holidays import holiday_name

BUCHAREST = ZoneInfo("Europe/Bucharest")
SOFIA = ZoneInfo("Europe/Sofia")
OFFICE = {"weekly": {day: ["08:00-16:30"] for day in ("mon", "tue", "wed", "thu", "fri")}}


def at_ten(day: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(10), tzinfo=zone)


@pytest.fixture(scope="module")
def sofia_flow(make_flow):
    return make_flow({"office": OFFICE}, country="BG", timezone="Europe/Sofia")


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2026-01-06", "Epiphany"),
        ("2026-01-07", "Saint John the Baptist"),
        ("2026-04-13", "Easter"),
        ("2026-06-01", "Children's Day; Pentecost"),
        ("2026-12-01", "National Day"),
        ("2026-12-25", "Christmas Day"),
    ],
)
@pytest.mark.parametrize("department", ["public_relations", "urbanism", "local_police"])
def test_romanian_public_holidays_are_closed(demo_flow, department, day, name):
    at = at_ten(day, BUCHAREST)
    assert not is_open(demo_flow, department, at)
    assert closed_reason(demo_flow, department, at) == f"public holiday: {name}"


def test_orthodox_easter_monday_is_not_western_easter_monday(demo_flow):
    western_easter_monday = at_ten("2026-04-06", BUCHAREST)
    assert is_open(demo_flow, "taxes", western_easter_monday)


def test_closure_from_the_file(demo_flow):
    assert closed_reason(demo_flow, "taxes", at_ten("2026-12-24", BUCHAREST)) == "closure"
    assert is_open(demo_flow, "taxes", at_ten("2026-12-23", BUCHAREST))


def test_holiday_is_judged_on_the_local_date(make_flow):
    flow = make_flow({"night": {"weekly": {day: ["00:00-24:00"] for day in ("fri", "sat")}}})
    labour_day_half_past_one = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)
    day_after_half_past_one = datetime(2026, 5, 1, 22, 30, tzinfo=UTC)
    assert closed_reason(flow, "night", labour_day_half_past_one) == "public holiday: Labor Day"
    assert is_open(flow, "night", day_after_half_past_one)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2026-03-03", "Liberation Day"),
        ("2026-05-06", "Saint George's Day, Day of the Bulgarian Army"),
        ("2026-09-06", "Unification Day"),
        ("2026-09-07", "Unification Day (observed)"),
        ("2026-12-24", "Christmas Eve"),
    ],
)
def test_bulgarian_public_holidays_are_closed(sofia_flow, day, name):
    at = at_ten(day, SOFIA)
    assert not is_open(sofia_flow, "office", at)
    assert closed_reason(sofia_flow, "office", at) == f"public holiday: {name}"


@pytest.mark.parametrize("day", ["2026-03-04", "2026-05-07", "2026-09-08", "2026-12-23"])
def test_bulgarian_working_days_next_to_holidays_are_open(sofia_flow, day):
    assert is_open(sofia_flow, "office", at_ten(day, SOFIA))


def test_each_city_keeps_its_own_country_holidays(demo_flow, sofia_flow):
    romanian_national_day = "2026-12-01"
    assert is_open(sofia_flow, "office", at_ten(romanian_national_day, SOFIA))
    bulgarian_liberation_day = "2026-03-03"
    assert is_open(demo_flow, "taxes", at_ten(bulgarian_liberation_day, BUCHAREST))


def test_holiday_name():
    assert holiday_name("RO", date(2027, 1, 1)) == "New Year's Day"
    assert holiday_name("RO", date(2027, 1, 2)) == "New Year's Day"
    assert holiday_name("BG", date(2027, 1, 2)) is None
    assert holiday_name("RO", date(2026, 11, 17)) is None
