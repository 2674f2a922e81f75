"""Survey answers are counted per local day, department, survey and score as they are given
(a callback's) or as their call ends (a call's, whose department is known only then)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ivr.storage import surveys
from ivr.storage.calls import finish_call, save_flow_version, start_call
from ivr.storage.db import Database
from ivr.storage.models import Callback, SurveyDayStats

FLOW = (Path(__file__).parents[2] / "callflows.yaml").read_text()
AT = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
"""00:30 on 3 March in Bucharest, the flow's zone."""
ZONE = ZoneInfo("Europe/Bucharest")


def _rows(database: Database) -> list[tuple[date, str, str, int, int]]:
    with database.session(read_only=True) as session:
        found = session.execute(select(SurveyDayStats).order_by(SurveyDayStats.kind))
        return [(r.day, r.department, r.kind, r.score, r.answers) for r in found.scalars()]


def test_a_call_s_answer_counts_as_the_call_ends(any_database: Database) -> None:
    with any_database.session() as session:
        save_flow_version(session, "v", FLOW, "callflows.yaml", AT)
        start_call(session, call_id="c1", caller=None, channel="sip", flow_version="v",
                   language="ro", at=AT)  # fmt: skip
        assert surveys.record_survey(session, kind="ivr", score=4, language="ro", at=AT,
                                     call_id="c1")  # fmt: skip
    assert _rows(any_database) == []  # the call's department is not known yet
    with any_database.session() as session:
        finish_call(session, call_id="c1", at=AT + timedelta(minutes=1), outcome="handled",
                    department="roads", ticket_id=None, zone=ZONE)  # fmt: skip
        callback = Callback(caller="+40722111222", department="taxes", slot_start=AT,
                            status="answered", language="ro", created_at=AT)  # fmt: skip
        session.add(callback)
        session.flush()
        surveys.record_survey(session, kind="callback", score=2, language="ro", at=AT,
                              callback_id=callback.id)  # fmt: skip
    assert _rows(any_database) == [
        (date(2026, 3, 3), "taxes", "callback", 2, 1),
        (date(2026, 3, 3), "roads", "ivr", 4, 1),
    ]
    with any_database.session(read_only=True) as session:
        roads = surveys.score_summary(session, date(2026, 3, 3), date(2026, 3, 3), ["roads"])
        every = surveys.score_summary(session, date(2026, 3, 1), date(2026, 3, 3), None)
        day_before = surveys.score_summary(session, date(2026, 3, 2), date(2026, 3, 2), None)
    assert (roads.answers, roads.average, every.answers) == (1, 4, 2)
    assert day_before.answers == 0
