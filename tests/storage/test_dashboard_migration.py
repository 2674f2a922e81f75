"""Migration f18b0b1c2d3e fills the new summaries from what is stored: calls per local day
and hour from `call_hour_stats` (in the zone of the newest stored flow), the department ""
for older node rows, and each call's words from its speech events; f18d0b1c2d3e counts the
stored survey answers and indexes the words said. Both go back down."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from ivr.storage.db import Database, alembic_config

FLOW = (Path(__file__).parents[2] / "callflows.yaml").read_text()


def _migrate(connection, revision: str, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


def _at_with_the_flow(connection, revision: str) -> None:
    """The schema at `revision`, with callflows.yaml stored as flow version `v`."""
    _migrate(connection, revision)
    connection.execute(
        text("INSERT INTO flow_versions VALUES ('v', :s, 'p', '2026-01-01 00:00:00')"),
        {"s": FLOW},
    )


def test_the_upgrade_fills_the_summaries_and_the_words_said(any_url: str) -> None:
    database = Database(any_url)
    try:
        with database.engine.begin() as connection:
            _at_with_the_flow(connection, "d9e3b6a1c7f4")
            connection.execute(
                text(
                    "INSERT INTO call_hour_stats VALUES "
                    "('2026-03-02 22:00:00', 'ticket', 'roads', 3), "
                    "('2026-03-02 08:00:00', 'ticket', 'roads', 2)"
                )
            )
            connection.execute(
                text("INSERT INTO node_day_stats VALUES ('2026-03-02', 'main', 5, 1, 0)")
            )
            connection.execute(
                text(
                    "INSERT INTO calls (id, channel, flow_version, started_at) "
                    "VALUES ('c1', 'sip', 'v', '2026-03-02 08:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO call_events (call_id, seq, kind, type, payload, at) VALUES "
                    "('c1', 1, 'event', 'SpeechRecognized', :a, '2026-03-02 08:00:00'), "
                    "('c1', 2, 'event', 'SpeechRecognized', :b, '2026-03-02 08:00:01')"
                ),
                {"a": '{"text": "groapa mare"}', "b": '{"text": "strada"}'},
            )
        with database.engine.begin() as connection:
            _migrate(connection, "f18b0b1c2d3e")
            days = connection.execute(
                text("SELECT day, department, outcome, calls FROM call_day_stats ORDER BY day")
            ).all()
            hours = connection.execute(
                text("SELECT hour, calls FROM call_hour_of_day_stats ORDER BY hour")
            ).all()
            nodes = connection.execute(
                text("SELECT department, node, turns FROM node_day_stats")
            ).all()
            said = connection.scalar(text("SELECT transcript FROM calls WHERE id = 'c1'"))
            _migrate(connection, "d9e3b6a1c7f4", down=True)
            _migrate(connection, "f18b0b1c2d3e")
    finally:
        database.dispose()
    # 22:00 UTC on 2 March is 00:00 on 3 March in Bucharest; 08:00 UTC is 10:00 there
    assert [(str(d), dep, o, c) for d, dep, o, c in days] == [
        ("2026-03-02", "roads", "ticket", 2),
        ("2026-03-03", "roads", "ticket", 3),
    ]
    assert hours == [(0, 3), (10, 2)]
    assert nodes == [("", "main", 5)]
    assert said == "groapa mare / strada"


def test_the_upgrade_counts_stored_answers_and_indexes_the_words(any_url: str) -> None:
    database = Database(any_url)
    try:
        with database.engine.begin() as connection:
            _at_with_the_flow(connection, "f18b0b1c2d3e")
            connection.execute(text(
                "INSERT INTO calls (id, channel, flow_version, started_at, ended_at, department, "
                "transcript) VALUES "
                "('c1', 'sip', 'v', '2026-03-02 22:00:00', '2026-03-02 22:05:00', 'roads', "
                "'Stradă Mare'), "
                "('c2', 'sip', 'v', '2026-03-02 22:00:00', NULL, NULL, NULL)"
            ))  # fmt: skip
            connection.execute(text(
                "INSERT INTO survey_responses (kind, call_id, score, language, at) VALUES "
                "('ivr', 'c1', 5, 'ro', '2026-03-02 22:04:00'), "
                "('ivr', 'c2', 3, 'ro', '2026-03-02 22:04:00'), "
                "('ivr', NULL, 1, 'ro', '2026-03-02 10:00:00')"
            ))  # fmt: skip
        with database.engine.begin() as connection:
            _migrate(connection, "f18d0b1c2d3e")
            counted = connection.execute(text(
                "SELECT day, department, score, answers FROM survey_day_stats ORDER BY score"
            )).all()  # fmt: skip
            words = connection.execute(text("SELECT call_id, words FROM call_words")).all()
            _migrate(connection, "f18b0b1c2d3e", down=True)
            _migrate(connection, "f18d0b1c2d3e")
    finally:
        database.dispose()
    # c2 still runs: its answer counts as it ends; the answer of an erased link counts under ""
    assert [(str(d), dep, s, n) for d, dep, s, n in counted] == [
        ("2026-03-02", "", 1, 1),
        ("2026-03-03", "roads", 5, 1),
    ]
    assert words == [("c1", "strada mare")]
