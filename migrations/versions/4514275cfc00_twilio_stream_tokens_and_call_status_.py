"""Twilio: one-time Media Streams tokens and call status callbacks (unique on CallSid and
SequenceNumber).

Revision ID: 4514275cfc00
Revises: 026cde8e824e
Create Date: 2026-11-23 12:16:10.608499
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4514275cfc00"
down_revision: str | None = "026cde8e824e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twilio_call_statuses",
        sa.Column("call_sid", sa.String(), nullable=False),
        sa.Column("sequence_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "call_sid", "sequence_number", name=op.f("pk_twilio_call_statuses")
        ),
    )
    op.create_table(
        "twilio_stream_tokens",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("call_sid", sa.String(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_twilio_stream_tokens")),
    )
    with op.batch_alter_table("twilio_stream_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_twilio_stream_tokens_call_sid"), ["call_sid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("twilio_stream_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_twilio_stream_tokens_call_sid"))

    op.drop_table("twilio_stream_tokens")
    op.drop_table("twilio_call_statuses")
