"""Dashboard: calls per local day and per local hour of day, and every summary under its
department, so the dashboard reads one row per day whatever the number of calls and an
officer's charts count only their departments. Call log: the words each caller said
(`calls.transcript`) for the word search, filled here from the stored speech events; SMS
by number and time, for a citizen's conversation on the ticket and call pages.

The new tables are filled from what is stored, in the time zone of the newest stored flow:
calls per day and hour from `call_hour_stats`; tickets opened from the calls that filed them
and closed from their status changes, under the ticket's department. Node and choice rows
from before keep their (UTC) day and get the department "" (seen by supervisors only).

Revision ID: f18b0b1c2d3e
Revises: f19a0b1c2d3e
Create Date: 2026-12-05 06:40:00.000000
"""

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import yaml
from alembic import op

revision: str = "f18b0b1c2d3e"
down_revision: str | None = "f19a0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    zone = _zone(connection)
    day_table = op.create_table(
        "call_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "department", "outcome", name=op.f("pk_call_day_stats")),
        sqlite_with_rowid=False,
    )
    hour_table = op.create_table(
        "call_hour_of_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "department", "hour", name=op.f("pk_call_hour_of_day_stats")
        ),
        sqlite_with_rowid=False,
    )
    days: Counter[tuple] = Counter()
    hours: Counter[tuple] = Counter()
    for hour, outcome, department, calls in connection.execute(
        sa.text("SELECT hour, outcome, department, calls FROM call_hour_stats")
    ):
        local = _utc(hour).astimezone(zone)
        days[(local.date(), department, outcome)] += calls
        hours[(local.date(), department, local.hour)] += calls
    _insert(day_table, ("day", "department", "outcome", "calls"), days)
    _insert(hour_table, ("day", "department", "hour", "calls"), hours)
    _rekey_node_and_choice_stats(connection)
    _rebuild_ticket_stats(connection, zone)
    _fill_transcripts(connection)
    op.create_index("ix_sms_outbox_to_created_at", "sms_outbox", ["to", "created_at"])
    op.create_index("ix_sms_inbound_sender_received_at", "sms_inbound", ["sender", "received_at"])


def _fill_transcripts(connection: sa.Connection) -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transcript", sa.Text(), nullable=True))
    said: defaultdict[str, list[str]] = defaultdict(list)
    rows = connection.execute(
        sa.text(
            "SELECT call_id, payload FROM call_events WHERE type = 'SpeechRecognized' "
            "AND kind = 'event' ORDER BY call_id, seq"
        )
    )
    for call_id, payload in rows:
        text = (json.loads(payload) if isinstance(payload, str) else payload).get("text")
        if text:
            said[call_id].append(str(text))
    if said:
        connection.execute(
            sa.text("UPDATE calls SET transcript = :transcript WHERE id = :id"),
            [{"id": i, "transcript": " / ".join(words)} for i, words in said.items()],
        )


def _rekey_node_and_choice_stats(connection: sa.Connection) -> None:
    nodes = list(
        connection.execute(
            sa.text("SELECT day, node, turns, no_match, no_input FROM node_day_stats")
        )
    )
    choices = list(
        connection.execute(sa.text("SELECT day, node, target, count FROM choice_day_stats"))
    )
    op.drop_table("node_day_stats")
    op.drop_table("choice_day_stats")
    node_table = op.create_table(
        "node_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("no_match", sa.Integer(), nullable=False),
        sa.Column("no_input", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "department", "node", name=op.f("pk_node_day_stats")),
        sqlite_with_rowid=False,
    )
    choice_table = op.create_table(
        "choice_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "department", "node", "target", name=op.f("pk_choice_day_stats")
        ),
        sqlite_with_rowid=False,
    )
    if nodes:
        op.bulk_insert(
            node_table,
            [{"day": _day(d), "department": "", "node": n, "turns": t, "no_match": m, "no_input": i}
             for d, n, t, m, i in nodes],
        )  # fmt: skip
    if choices:
        op.bulk_insert(
            choice_table,
            [{"day": _day(d), "department": "", "node": n, "target": t, "count": c}
             for d, n, t, c in choices],
        )  # fmt: skip


def _rebuild_ticket_stats(connection: sa.Connection, zone: ZoneInfo) -> None:
    op.drop_table("ticket_day_stats")
    table = op.create_table(
        "ticket_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "department", name=op.f("pk_ticket_day_stats")),
        sqlite_with_rowid=False,
    )
    counts: Counter[tuple] = Counter()
    opened = sa.text(
        "SELECT calls.started_at, tickets.department FROM calls "
        "JOIN tickets ON tickets.id = calls.ticket_id WHERE calls.ended_at IS NOT NULL"
    )
    for started, department in connection.execute(opened):
        counts[(_utc(started).astimezone(zone).date(), department or "", "opened")] += 1
    closed = sa.text(
        "SELECT ticket_status_changes.at, tickets.department FROM ticket_status_changes "
        "JOIN tickets ON tickets.id = ticket_status_changes.ticket_id "
        "WHERE ticket_status_changes.status IN ('resolved', 'closed', 'rejected')"
    )
    for at, department in connection.execute(closed):
        counts[(_utc(at).astimezone(zone).date(), department or "", "closed")] += 1
    rows = {(day, department) for day, department, _ in counts}
    if rows:
        op.bulk_insert(
            table,
            [
                {
                    "day": day,
                    "department": department,
                    "opened": counts[(day, department, "opened")],
                    "closed": counts[(day, department, "closed")],
                }
                for day, department in sorted(rows)
            ],
        )


def _zone(connection: sa.Connection) -> ZoneInfo:
    """The time zone of the newest stored flow (UTC when none was ever loaded)."""
    source = connection.scalar(
        sa.text("SELECT source FROM flow_versions ORDER BY first_loaded_at DESC LIMIT 1")
    )
    city = (yaml.safe_load(source) or {}).get("city", {}) if source else {}
    return ZoneInfo(city.get("timezone") or "UTC")


def _utc(value: datetime | str) -> datetime:
    """A stored UTC time as an aware datetime (SQLite hands back text)."""
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp.replace(tzinfo=ZoneInfo("UTC")) if stamp.tzinfo is None else stamp


def _day(value: object) -> object:
    return datetime.fromisoformat(value).date() if isinstance(value, str) else value


def _insert(table: sa.Table, names: tuple[str, ...], counts: Counter[tuple]) -> None:
    if counts:
        op.bulk_insert(
            table, [dict(zip(names, (*key, n), strict=True)) for key, n in counts.items()]
        )


def downgrade() -> None:
    op.drop_index("ix_sms_inbound_sender_received_at", table_name="sms_inbound")
    op.drop_index("ix_sms_outbox_to_created_at", table_name="sms_outbox")
    op.drop_column("calls", "transcript")  # SQLite ≥ 3.35 drops it in place (calls has referrers)
    op.drop_table("call_hour_of_day_stats")
    op.drop_table("call_day_stats")
    for name in ("node_day_stats", "choice_day_stats", "ticket_day_stats"):
        op.drop_table(name)
    op.create_table(
        "choice_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "node", "target", name=op.f("pk_choice_day_stats")),
    )
    op.create_table(
        "node_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("no_match", sa.Integer(), nullable=False),
        sa.Column("no_input", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "node", name=op.f("pk_node_day_stats")),
    )
    op.create_table(
        "ticket_day_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_ticket_day_stats")),
    )
