"""The citizen's follow-ups and e-mail to departments (issue 23, parts 3 and 5): a ticket
note's source (officer on the site, the citizen by phone or SMS, civicline itself), its
recording (a note said on the phone, transcribed by the worker), notes that close or reopen
a report; officers' e-mail addresses. (An e-mail is queued once per ticket and event by the
jobs' unique key of a22a0b1c2d3e.)

Revision ID: a23b0b1c2d3e
Revises: a22a0b1c2d3e
Create Date: 2026-12-05 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a23b0b1c2d3e"
down_revision: str | None = "a22a0b1c2d3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('note', 'reply')"
NEW_KINDS = "kind IN ('note', 'reply', 'closed', 'reopened')"


def upgrade() -> None:
    with op.batch_alter_table("ticket_notes") as batch:
        batch.add_column(sa.Column("source", sa.String(), nullable=False, server_default="officer"))
        batch.add_column(sa.Column("recording_id", sa.String(), nullable=True))
        batch.drop_constraint(batch.f("ck_ticket_notes_kind"), type_="check")
        batch.create_check_constraint(batch.f("ck_ticket_notes_kind"), NEW_KINDS)
    with op.batch_alter_table("officers") as batch:
        batch.add_column(sa.Column("email", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("officers") as batch:
        batch.drop_column("email")
    op.execute("DELETE FROM ticket_notes WHERE kind NOT IN ('note', 'reply')")
    with op.batch_alter_table("ticket_notes") as batch:
        batch.drop_constraint(batch.f("ck_ticket_notes_kind"), type_="check")
        batch.create_check_constraint(batch.f("ck_ticket_notes_kind"), OLD_KINDS)
        batch.drop_column("recording_id")
        batch.drop_column("source")
