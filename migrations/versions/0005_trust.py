"""Trust: the registry's identity and key fingerprint, a keyed audit chain (a MAC per entry and
on the head), one correction per fulfilment.

Entries already in the log stay as they were (a plain SHA-256 chain: the migration has no key
to MAC them with); ``audit_head.keyed_from`` records where the keyed part begins.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:40:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registry_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    identity = sa.table("registry_identity", sa.column("id"), sa.column("registry_id"), sa.column("created_at"))
    op.bulk_insert(identity, [{"id": 1, "registry_id": str(uuid.uuid4()), "created_at": datetime.now(UTC)}])
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry_mac", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keyed_from", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("head_mac", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    head = sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("keyed_from"))
    op.get_bind().execute(head.update().where(head.c.id == 1).values(keyed_from=head.c.seq + 1))
    with op.batch_alter_table("condition_fulfilment", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_condition_fulfilment_supersedes_id", ["supersedes_id"])


def downgrade() -> None:
    with op.batch_alter_table("condition_fulfilment", schema=None) as batch_op:
        batch_op.drop_constraint("uq_condition_fulfilment_supersedes_id", type_="unique")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("head_mac")
        batch_op.drop_column("keyed_from")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("entry_mac")
    op.drop_table("registry_identity")
