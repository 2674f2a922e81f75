"""Callbacks keep the citizen's answer to the recording notice: accepted or declined on the
call that booked them, or unknown (booked by SMS or by an escalation: asked at the start of
the callback). Callbacks booked before this revision are unknown, so they are asked.

Revision ID: f19a0b1c2d3e
Revises: f18a0b1c2d3e
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f19a0b1c2d3e"
down_revision: str | None = "f18a0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_consent", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_column("recording_consent")
