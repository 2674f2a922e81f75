"""Announcements said before a menu during their dates, and closures edited on the site.

Revision ID: a23c0b1c2d3e
Revises: a26a0b1c2d3e
Create Date: 2026-12-05 10:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a23c0b1c2d3e"
down_revision: str | None = "a26a0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("placement", sa.String(), nullable=False),
        sa.Column("heard", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "placement IN ('main', 'after_hours')", name=op.f("ck_announcements_placement")
        ),
        sa.CheckConstraint("starts <= ends", name=op.f("ck_announcements_dates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index(op.f("ix_announcements_starts"), "announcements", ["starts"])
    op.create_index(op.f("ix_announcements_ends"), "announcements", ["ends"])
    op.create_table(
        "office_closures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_closures")),
    )
    op.create_index(op.f("ix_office_closures_day"), "office_closures", ["day"])


def downgrade() -> None:
    op.drop_index(op.f("ix_office_closures_day"), table_name="office_closures")
    op.drop_table("office_closures")
    op.drop_index(op.f("ix_announcements_ends"), table_name="announcements")
    op.drop_index(op.f("ix_announcements_starts"), table_name="announcements")
    op.drop_table("announcements")
