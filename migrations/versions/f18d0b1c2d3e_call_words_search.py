"""Call log: a full-text index of each call's words (ivr/storage/search.py), so a word
search reads only the calls that hold it: `call_words` (folded words, kept by the
application as transcripts are written) under an FTS5 trigram table on SQLite and a pg_trgm
GIN index on PostgreSQL; filled here from the stored transcripts. A ticket's transcript
blanked by a statement that bypasses the application (the privacy purge and erasure) leaves
its calls only their own words, by a trigger.

Dashboard: survey answers per local day, department, survey and score
(`survey_day_stats`), filled here from the stored answers in the time zone of the newest
stored flow: a callback's under its department, a call's under the call's once it has ended
(a call still running counts its answer as it ends), an erased link under "".

Revision ID: f18d0b1c2d3e
Revises: f18b0b1c2d3e
Create Date: 2026-12-05 07:55:00.000000
"""

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from ivr.storage.search import words_of
from ivr.storage.surveys import stored_zone

revision: str = "f18d0b1c2d3e"
down_revision: str | None = "f18b0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000

SQLITE = [
    "CREATE VIRTUAL TABLE call_words_fts USING fts5(words, content='call_words', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER call_words_added AFTER INSERT ON call_words BEGIN "
    "INSERT INTO call_words_fts (rowid, words) VALUES (new.id, new.words); END",
    "CREATE TRIGGER call_words_removed AFTER DELETE ON call_words BEGIN "
    "INSERT INTO call_words_fts (call_words_fts, rowid, words) "
    "VALUES ('delete', old.id, old.words); END",
    "CREATE TRIGGER call_words_changed AFTER UPDATE ON call_words BEGIN "
    "INSERT INTO call_words_fts (call_words_fts, rowid, words) "
    "VALUES ('delete', old.id, old.words); "
    "INSERT INTO call_words_fts (rowid, words) VALUES (new.id, new.words); END",
    "CREATE TRIGGER call_words_transcript_blanked AFTER UPDATE OF transcript ON tickets "
    "WHEN new.transcript IS NULL OR json_extract(new.transcript, '$.text') IS NULL BEGIN "
    "UPDATE call_words SET words = (SELECT lower(coalesce(calls.transcript, '')) FROM calls "
    "WHERE calls.id = call_words.call_id) "
    "WHERE call_id IN (SELECT id FROM calls WHERE ticket_id = new.id); END",
]
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_call_words_words ON call_words USING gin (words gin_trgm_ops)",
    "CREATE FUNCTION call_words_transcript_blanked() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN UPDATE call_words SET words = lower(coalesce(calls.transcript, '')) FROM calls "
    "WHERE calls.id = call_words.call_id AND calls.ticket_id = NEW.id; RETURN NULL; END $$",
    "CREATE TRIGGER call_words_transcript_blanked AFTER UPDATE OF transcript ON tickets "
    "FOR EACH ROW WHEN (NEW.transcript IS NULL OR NEW.transcript->>'text' IS NULL) "
    "EXECUTE FUNCTION call_words_transcript_blanked()",
]


def upgrade() -> None:
    table = op.create_table(
        "call_words",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_words_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_words")),
        sa.UniqueConstraint("call_id", name=op.f("uq_call_words_call_id")),
    )
    connection = op.get_bind()
    for statement in SQLITE if connection.dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)
    _fill(connection, table)
    _count_surveys(connection)


def _count_surveys(connection: sa.Connection) -> None:
    table = op.create_table(
        "survey_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "department", "kind", "score", name=op.f("pk_survey_day_stats")
        ),
        sqlite_with_rowid=False,
    )
    with Session(bind=connection) as session:
        zone = stored_zone(session)
    counts: Counter[tuple] = Counter()
    answers = sa.text(
        "SELECT survey_responses.at, survey_responses.kind, survey_responses.score, "
        "survey_responses.call_id, calls.ended_at, calls.department, callbacks.department "
        "FROM survey_responses LEFT JOIN calls ON calls.id = survey_responses.call_id "
        "LEFT JOIN callbacks ON callbacks.id = survey_responses.callback_id"
    )
    for at, kind, score, call_id, ended, in_call, in_callback in connection.execute(answers):
        if call_id is not None and ended is None:
            continue  # counted as its call ends
        day = _utc(at).astimezone(zone).date()
        counts[(day, in_callback or in_call or "", kind, score)] += 1
    if counts:
        op.bulk_insert(
            table,
            [{"day": d, "department": p, "kind": k, "score": s, "answers": n}
             for (d, p, k, s), n in counts.items()],
        )  # fmt: skip


def _utc(value: datetime | str) -> datetime:
    """A stored UTC time as an aware datetime (SQLite hands back text)."""
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp.replace(tzinfo=ZoneInfo("UTC")) if stamp.tzinfo is None else stamp


def _fill(connection: sa.Connection, table: sa.Table) -> None:
    """Every call that said something or whose ticket's description was transcribed."""
    rows = connection.execute(
        sa.text(
            "SELECT calls.id, calls.transcript, tickets.transcript FROM calls "
            "LEFT JOIN tickets ON tickets.id = calls.ticket_id "
            "WHERE calls.transcript IS NOT NULL OR tickets.transcript IS NOT NULL"
        )
    )
    batch: list[dict[str, str]] = []
    for call_id, said, described in rows:
        words = words_of(said, json.loads(described) if isinstance(described, str) else described)
        if words:
            batch.append({"call_id": call_id, "words": words})
        if len(batch) == BATCH:
            op.bulk_insert(table, batch)
            batch = []
    if batch:
        op.bulk_insert(table, batch)


def downgrade() -> None:
    op.drop_table("survey_day_stats")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER call_words_transcript_blanked")
        op.execute("DROP TABLE call_words_fts")
    else:
        op.execute("DROP TRIGGER call_words_transcript_blanked ON tickets")
        op.execute("DROP FUNCTION call_words_transcript_blanked()")
    op.drop_table("call_words")
