"""Appointments at a counter: each service's counter and capacity per slot, and the visits
booked by phone.

Revision ID: a26a0b1c2d3e
Revises: a22b0b1c2d3e
Create Date: 2026-12-05 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a26a0b1c2d3e"
down_revision: str | None = "a22b0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_counters",
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("counter", sa.String(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("slot_minutes IN (15, 30)", name="ck_service_counters_slot_minutes"),
        sa.CheckConstraint("capacity > 0", name="ck_service_counters_capacity"),
        sa.PrimaryKeyConstraint("service", name="pk_service_counters"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("caller", sa.String(), nullable=True),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("counter", sa.String(), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'arrived', 'no_show')",
            name="ck_appointments_status",
        ),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name="fk_appointments_call_id_calls"),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.UniqueConstraint("code", name="uq_appointments_code"),
    )
    op.create_index("ix_appointments_service_slot_start", "appointments", ["service", "slot_start"])
    op.create_index("ix_appointments_caller_created_at", "appointments", ["caller", "created_at"])
    op.create_index("ix_appointments_slot_start", "appointments", ["slot_start"])


def downgrade() -> None:
    op.drop_table("appointments")
    op.drop_table("service_counters")
