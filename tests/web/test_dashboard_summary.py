"""The dashboard's sums come from the database on both dialects: calls per local day by
group (handled, transferred, abandoned; failed counts as abandoned) and per hour of day,
nodes, choices and tickets, over every department or an officer's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.storage import calls, stats
from ivr.storage.models import (
    CallDayStats,
    CallHourOfDayStats,
    ChoiceDayStats,
    FlowVersion,
    NodeDayStats,
    TicketDayStats,
)

DAY = date(2026, 3, 2)
BUCHAREST = ZoneInfo("Europe/Bucharest")


def test_the_summary_sums_in_the_database(any_database) -> None:
    rows = [
        (DAY, "ticket", "roads", 4),
        (DAY, "status", "taxes", 1),
        (DAY, "transferred", "roads", 2),
        (DAY, "failed", "roads", 1),
        (DAY, "abandoned", "taxes", 3),
        (DAY + timedelta(days=1), "handled", "roads", 5),
        (DAY - timedelta(days=2), "ticket", "roads", 7),  # before the range
    ]
    with any_database.session() as session:
        for hour, (day, outcome, department, count) in enumerate(rows):
            session.add(CallDayStats(day=day, outcome=outcome, department=department, calls=count))
            session.add(CallHourOfDayStats(day=day, department=department, hour=hour, calls=count))
        for day in (DAY - timedelta(days=1), DAY):
            for department in ("roads", "taxes"):
                where = {"day": day, "department": department}
                session.add(NodeDayStats(**where, node="main", turns=10, no_match=2, no_input=1))
                session.add(ChoiceDayStats(**where, node="main", target="report", count=3))
                session.add(TicketDayStats(**where, opened=2, closed=1))
    first, last = DAY - timedelta(days=1), DAY + timedelta(days=1)
    with any_database.session(read_only=True) as session:
        every = stats.summary(session, first, last, None)
        roads = stats.summary(session, first, last, ["roads"])
    assert every.days == {
        DAY: {"handled": 5, "transferred": 2, "abandoned": 4},
        DAY + timedelta(days=1): {"handled": 5},
    }
    assert every.hours == {0: 4, 1: 1, 2: 2, 3: 1, 4: 3, 5: 5}
    assert roads.days[DAY] == {"handled": 4, "transferred": 2, "abandoned": 1}
    assert roads.hours == {0: 4, 2: 2, 3: 1, 5: 5}
    assert every.nodes == [("main", 40, 8, 4)] and roads.nodes == [("main", 20, 4, 2)]
    assert every.choices == [("main", "report", 12)] and roads.choices == [("main", "report", 6)]
    assert every.tickets[DAY] == (4, 2) and roads.tickets[DAY] == (2, 1)


def test_a_call_counts_on_its_local_day_and_hour(any_database) -> None:
    late = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 00:30 on 3 March in Bucharest
    with any_database.session() as session:
        session.add(FlowVersion(hash="v", source="", path="x", first_loaded_at=late))
        session.flush()
        calls.start_call(
            session, call_id="CA1", caller=None, channel="sip", flow_version="v",
            language="ro", at=late,
        )  # fmt: skip
        calls.finish_call(
            session, call_id="CA1", at=late + timedelta(minutes=2), outcome="transferred",
            department="taxes", ticket_id=None, zone=BUCHAREST,
        )  # fmt: skip
    with any_database.session(read_only=True) as session:
        summary = stats.summary(session, DAY, DAY + timedelta(days=1), ["taxes"])
        other = stats.summary(session, DAY, DAY + timedelta(days=1), ["roads"])
    assert summary.days == {date(2026, 3, 3): {"transferred": 1}}
    assert summary.hours == {0: 1}
    assert other.days == {} and other.hours == {}
