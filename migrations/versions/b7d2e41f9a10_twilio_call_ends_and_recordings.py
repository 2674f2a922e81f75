"""Twilio: which side ended a call first (stream or status callback), and the recordings
Twilio made for us (unique on RecordingSid) with their download and deletion.

Revision ID: b7d2e41f9a10
Revises: 4514275cfc00
Create Date: 2026-11-23 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d2e41f9a10"
down_revision: str | None = "4514275cfc00"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twilio_call_ends",
        sa.Column("call_sid", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("call_sid", name=op.f("pk_twilio_call_ends")),
    )
    op.create_table(
        "twilio_recordings",
        sa.Column("recording_sid", sa.String(), nullable=False),
        sa.Column("call_sid", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recording_id", sa.String(), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("problem", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_twilio_recordings_recording_id_recordings"),
        ),
        sa.PrimaryKeyConstraint("recording_sid", name=op.f("pk_twilio_recordings")),
    )
    with op.batch_alter_table("twilio_recordings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_twilio_recordings_call_sid"), ["call_sid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("twilio_recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_twilio_recordings_call_sid"))

    op.drop_table("twilio_recordings")
    op.drop_table("twilio_call_ends")
