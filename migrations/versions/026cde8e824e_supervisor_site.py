"""Supervisor site: officers' departments, ticket notes and escalation level, callback
outcomes, the dashboard's summary tables, and indexes for the call log's filters.

Revision ID: 026cde8e824e
Revises: 5b4928c8e6b9
Create Date: 2026-11-23 11:56:35.421054
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "026cde8e824e"
down_revision: str | None = "5b4928c8e6b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_hour_stats",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "outcome", "department", name=op.f("pk_call_hour_stats")),
    )
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
    op.create_table(
        "user_departments",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_departments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "department", name=op.f("pk_user_departments")),
    )
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("sms_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('note', 'reply')", name=op.f("ck_ticket_notes_kind")),
        sa.ForeignKeyConstraint(
            ["sms_id"], ["sms_outbox.id"], name=op.f("fk_ticket_notes_sms_id_sms_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_notes_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notes")),
    )
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_notes_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_department_started_at_id", ["department", "started_at", "id"], unique=False
        )
        batch_op.create_index("ix_calls_ended_at", ["ended_at"], unique=False)
        batch_op.create_index("ix_calls_ticket_id", ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            "ix_tickets_department_created_at", ["department", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_department_created_at")
        batch_op.drop_column("escalation_level")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_ticket_id")
        batch_op.drop_index("ix_calls_ended_at")
        batch_op.drop_index("ix_calls_department_started_at_id")

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_column("done_at")
        batch_op.drop_column("resolution")
        batch_op.drop_column("outcome")

    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_notes_ticket_id"))

    op.drop_table("ticket_notes")
    op.drop_table("user_departments")
    op.drop_table("ticket_day_stats")
    op.drop_table("node_day_stats")
    op.drop_table("choice_day_stats")
    op.drop_table("call_hour_stats")
