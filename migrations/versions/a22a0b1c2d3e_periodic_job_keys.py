"""Jobs: a unique key for the run of a periodic job in its period (`kind@period`), so that
any number of workers queue each sweep and purge once.

Revision ID: a22a0b1c2d3e
Revises: a23a0b1c2d3e
Create Date: 2026-12-05 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a22a0b1c2d3e"
down_revision: str | None = "a23a0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("unique_key", sa.String(), nullable=True))
        batch.create_unique_constraint(op.f("uq_jobs_unique_key"), ["unique_key"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("uq_jobs_unique_key"), type_="unique")
        batch.drop_column("unique_key")
