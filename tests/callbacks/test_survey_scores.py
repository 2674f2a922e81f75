"""Survey scores: stored once per call or callback, summed up per period, kind and department,
shown on the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from callback_site import supervisor_client
from flask import Flask

from ivr.storage import surveys
from ivr.storage.db import Database
from ivr.storage.models import Call, Callback, FlowVersion

NOW = datetime.now(UTC)
TODAY = NOW.date()
"""The stored flow names no time zone: days are UTC days."""


def seed(database: Database) -> None:
    with database.session() as session:
        session.add(FlowVersion(hash="v1", source="", path="", first_loaded_at=NOW))
        session.flush()
        for n in range(4):
            session.add(
                Call(
                    id=f"call{n}",
                    caller=None,
                    channel="test",
                    flow_version="v1",
                    language="ro",
                    started_at=NOW,
                    ended_at=NOW,
                    department="roads" if n else "taxes",
                )
            )
        session.add(
            Callback(
                caller="+40722111222",
                department="roads",
                slot_start=NOW,
                status="answered",
                language="ro",
                created_at=NOW,
            )
        )
        session.flush()
        for n, score in enumerate((5, 4, 4)):
            assert surveys.record_survey(
                session, kind="ivr", score=score, language="ro", at=NOW, call_id=f"call{n}"
            )
        assert not surveys.record_survey(
            session, kind="ivr", score=1, language="ro", at=NOW, call_id="call0"
        )  # once per call
        surveys.record_survey(
            session,
            kind="ivr",
            score=1,
            language="ro",
            at=NOW - timedelta(days=40),
            call_id="call3",
        )
        surveys.record_survey(
            session, kind="callback", score=2, language="ro", at=NOW, callback_id=1
        )


def test_scores_per_period_and_kind(database: Database) -> None:
    seed(database)
    with database.session(read_only=True) as session:
        week = surveys.score_summary(session, TODAY - timedelta(days=6), TODAY, None, "ivr")
        both = surveys.score_summary(session, TODAY - timedelta(days=60), TODAY, None)
        roads = surveys.score_summary(session, TODAY - timedelta(days=60), TODAY, ["roads"])
        none = surveys.score_summary(session, TODAY + timedelta(days=1), TODAY + timedelta(2), None)
    assert week.counts == {1: 0, 2: 0, 3: 0, 4: 2, 5: 1} and week.average == pytest.approx(13 / 3)
    assert both.answers == 5 and both.average == pytest.approx(16 / 5)
    assert roads.counts == {1: 1, 2: 1, 3: 0, 4: 2, 5: 0}  # call0 was the taxes department's
    assert none.answers == 0 and none.average is None


def test_a_score_outside_1_to_5_is_refused(database: Database) -> None:
    with database.session() as session, pytest.raises(ValueError, match="1 to 5"):
        surveys.record_survey(session, kind="ivr", score=6, language="ro", at=NOW)


def test_the_dashboard_shows_the_survey(demo_app: Flask, demo_db: Database) -> None:
    seed(demo_db)
    client = supervisor_client(demo_app, demo_db)
    html = client.get("/?days=7").get_data(as_text=True)
    survey = html[html.index('<table id="survey">') :]
    survey = survey[: survey.index("</table>")]
    assert 'After IVR calls</th><td class="num">3</td>' in survey and "4.33" in survey
    assert 'After callbacks</th><td class="num">1</td>' in survey and "2.00" in survey
