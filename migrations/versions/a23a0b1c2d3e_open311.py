"""Open311 GeoReport v2: API keys (hashed), reports filed by POST, per-minute request
counts for rate limits, and tickets pushed to a city's own GeoReport endpoint.

Revision ID: a23a0b1c2d3e
Revises: f18c0b1c2d3e
Create Date: 2026-12-05 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a23a0b1c2d3e"
down_revision: str | None = "f18c0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "open311_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_keys_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_open311_keys_name")),
    )
    op.create_table(
        "open311_reports",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("long", sa.Double(), nullable=True),
        sa.Column("publish_description", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["open311_keys.id"], name=op.f("fk_open311_reports_key_id_open311_keys")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_open311_reports_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_open311_reports")),
        sa.UniqueConstraint("token", name=op.f("uq_open311_reports_token")),
        sa.UniqueConstraint(
            "key_id", "external_id", name=op.f("uq_open311_reports_key_id_external_id")
        ),
    )
    op.create_index(op.f("ix_open311_reports_key_id"), "open311_reports", ["key_id"])
    op.create_table(
        "open311_hits",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("window_start", WHEN, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_open311_hits")),
    )
    op.create_table(
        "open311_pushes",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("remote_id", sa.String(), nullable=True),
        sa.Column("token", sa.String(), nullable=True),
        sa.Column("remote_status", sa.String(), nullable=True),
        sa.Column("remote_notes", sa.Text(), nullable=True),
        sa.Column("remote_agency", sa.String(), nullable=True),
        sa.Column("remote_updated_at", WHEN, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("queued_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("polled_at", WHEN, nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'failed')",
            name=op.f("ck_open311_pushes_state"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_open311_pushes_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_open311_pushes")),
    )
    op.create_index(
        "ix_open311_pushes_state_remote_status", "open311_pushes", ["state", "remote_status"]
    )


def downgrade() -> None:
    op.drop_index("ix_open311_pushes_state_remote_status", table_name="open311_pushes")
    op.drop_table("open311_pushes")
    op.drop_table("open311_hits")
    op.drop_index(op.f("ix_open311_reports_key_id"), table_name="open311_reports")
    op.drop_table("open311_reports")
    op.drop_table("open311_keys")
