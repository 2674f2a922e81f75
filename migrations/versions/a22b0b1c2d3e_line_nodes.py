"""Calls that die with their node: the SIP node carrying each call (calls.carried_by) and
the nodes' heartbeats (line_nodes), so a call whose node died is ended at once.

Revision ID: a22b0b1c2d3e
Revises: a23b0b1c2d3e
Create Date: 2026-12-05 09:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a22b0b1c2d3e"
down_revision: str | None = "a23b0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "line_nodes",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("carried_by", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("carried_by")
    op.drop_table("line_nodes")
