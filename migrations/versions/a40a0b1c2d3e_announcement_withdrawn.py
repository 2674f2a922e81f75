"""An announcement withdrawn before its end date (its counts stay for the reports).

Revision ID: a40a0b1c2d3e
Revises: a23c0b1c2d3e
Create Date: 2026-12-05 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a40a0b1c2d3e"
down_revision: str | None = "a23c0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("announcements") as table:
        table.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("withdrawn_by", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("announcements") as table:
        table.drop_column("withdrawn_by")
        table.drop_column("withdrawn_at")
