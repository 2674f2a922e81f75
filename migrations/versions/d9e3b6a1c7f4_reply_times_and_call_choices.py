"""Call log: the wall-clock time each call row was taken (reply latency per turn), and each
finished call's menu choices for the intent filter.

Calls that ended before this revision have no choices stored: the intent filter finds
calls from then on.

Revision ID: d9e3b6a1c7f4
Revises: c4a1f0e2d8b3
Create Date: 2026-11-23 13:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9e3b6a1c7f4"
down_revision: str | None = "c4a1f0e2d8b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "call_choices",
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_choices_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("call_id", "node", "target", name=op.f("pk_call_choices")),
    )
    with op.batch_alter_table("call_choices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_choices_node_target_started_at",
            ["node", "target", "started_at", "call_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("call_choices", schema=None) as batch_op:
        batch_op.drop_index("ix_call_choices_node_target_started_at")
    op.drop_table("call_choices")
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.drop_column("stored_at")
