"""Supervisor site: the language each user chose for the site (ro, bg, en), NULL until they
choose one (then the browser's Accept-Language, else the flow's default, else English).

Revision ID: f18c0b1c2d3e
Revises: f18d0b1c2d3e
Create Date: 2026-12-05 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f18c0b1c2d3e"
down_revision: str | None = "f18d0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
