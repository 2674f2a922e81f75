"""The dashboard's sums come from the database on both dialects: calls per hour by group
(handled, transferred, abandoned; failed counts as abandoned) over every department or an
officer's, nodes and choices summed over the days of the range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ivr.storage import stats
from ivr.storage.models import CallHourStats, ChoiceDayStats, NodeDayStats

HOUR = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_the_summary_sums_in_the_database(any_database) -> None:
    rows = [
        (HOUR, "ticket", "roads", 4),
        (HOUR, "status", "taxes", 1),
        (HOUR, "transferred", "roads", 2),
        (HOUR, "failed", "roads", 1),
        (HOUR, "abandoned", "taxes", 3),
        (HOUR + timedelta(hours=1), "handled", "roads", 5),
        (HOUR - timedelta(days=2), "ticket", "roads", 7),  # before the range
    ]
    with any_database.session() as session:
        for hour, outcome, department, calls in rows:
            session.add(
                CallHourStats(hour=hour, outcome=outcome, department=department, calls=calls)
            )
        for day in (date(2026, 3, 1), date(2026, 3, 2)):
            session.add(NodeDayStats(day=day, node="main", turns=10, no_match=2, no_input=1))
            session.add(ChoiceDayStats(day=day, node="main", target="report", count=3))
    start, end = HOUR - timedelta(days=1), HOUR + timedelta(days=1)
    with any_database.session(read_only=True) as session:
        every = stats.summary(session, start, end, None)
        roads = stats.summary(session, start, end, ["roads"])
    assert every.hours == {
        HOUR: {"handled": 5, "transferred": 2, "abandoned": 4},
        HOUR + timedelta(hours=1): {"handled": 5},
    }
    assert roads.hours[HOUR] == {"handled": 4, "transferred": 2, "abandoned": 1}
    assert every.nodes == [("main", 20, 4, 2)]
    assert every.choices == [("main", "report", 6)]
