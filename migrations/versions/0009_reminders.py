"""Reminders (issue 13, item 6): an organisation's contact address, and the reminders sent, one
row per recipient and condition state, so that ``authreg remind`` never sends one state twice.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact", sa.String(length=254), nullable=True))
    op.create_table(
        "reminder_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("authorisation_id", sa.String(length=128), nullable=False),
        sa.Column("condition_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["authorisation_id"], ["authorisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "recipient", "authorisation_id", "condition_id", "state", "due_on", name="uq_reminder_sent_state"
        ),
    )
    with op.batch_alter_table("reminder_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_sent_authorisation_id"), ["authorisation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminder_sent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_sent_authorisation_id"))
    op.drop_table("reminder_sent")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("contact")
