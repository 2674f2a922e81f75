"""Supervisor site sign-in: server-side sessions, login throttles, two-factor keys

Revision ID: f18a0b1c2d3e
Revises: d9e3b6a1c7f4
Create Date: 2026-12-05 06:22:29.084362
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f18a0b1c2d3e"
down_revision: str | None = "d9e3b6a1c7f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    op.create_table(
        "site_sessions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_site_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_sessions")),
    )
    with op.batch_alter_table("site_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("totp_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_step")
        batch_op.drop_column("totp_secret")

    with op.batch_alter_table("site_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_sessions_user_id"))

    op.drop_table("site_sessions")
    op.drop_table("login_throttles")
