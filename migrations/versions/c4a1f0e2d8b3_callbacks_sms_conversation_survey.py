"""Callbacks: the calling role, confirmation and reminder times, every attempt to place one;
inbound SMS (once per MessageSid) and delivery statuses; ticket escalations; survey scores.

Revision ID: c4a1f0e2d8b3
Revises: b7d2e41f9a10
Create Date: 2026-11-23 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a1f0e2d8b3"
down_revision: str | None = "b7d2e41f9a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(), server_default="officer", nullable=False)
        )
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "sms_inbound",
        sa.Column("message_sid", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("command", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_sid", name=op.f("pk_sms_inbound")),
    )
    op.create_table(
        "sms_deliveries",
        sa.Column("message_sid", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error_code", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_sid", name=op.f("pk_sms_deliveries")),
    )
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("leg", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("to", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("provider_sid", sa.String(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("leg IN ('officer', 'citizen')", name=op.f("ck_callback_attempts_leg")),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_callback_attempts_callback_id_callbacks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
        sa.UniqueConstraint(
            "callback_id", "leg", "number", name=op.f("uq_callback_attempts_callback_id_leg_number")
        ),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_callback_attempts_provider_sid")),
    )
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_attempts_callback_id"), ["callback_id"], unique=False
        )
    op.create_table(
        "ticket_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("from_level", sa.Integer(), nullable=False),
        sa.Column("to_level", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_ticket_escalations_callback_id_callbacks"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_escalations_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_escalations")),
        sa.UniqueConstraint(
            "ticket_id", "to_level", name=op.f("uq_ticket_escalations_ticket_id_to_level")
        ),
    )
    with op.batch_alter_table("ticket_escalations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_escalations_ticket_id"), ["ticket_id"], unique=False
        )
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_survey_responses_score")),
        sa.CheckConstraint("kind IN ('ivr', 'callback')", name=op.f("ck_survey_responses_kind")),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_survey_responses_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_survey_responses_callback_id_callbacks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("call_id", name=op.f("uq_survey_responses_call_id")),
        sa.UniqueConstraint("callback_id", name=op.f("uq_survey_responses_callback_id")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_responses_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("survey_responses")
    op.drop_table("ticket_escalations")
    op.drop_table("callback_attempts")
    op.drop_table("sms_deliveries")
    op.drop_table("sms_inbound")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("role")
