"""Decision support: the audit chain's head, and the document's paragraphs map on the
authorisation row for the decision snapshot.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:47:34.413554
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    head = sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("entry_hash"))
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": "0" * 64}])
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paragraphs", sa.JSON(), nullable=True))
    # Fill from each authorisation's current document, then require it.
    connection = op.get_bind()
    authorisation = sa.table("authorisation", sa.column("id"), sa.column("version"), sa.column("paragraphs", sa.JSON()))
    version = sa.table(
        "authorisation_version", sa.column("authorisation_id"), sa.column("version"), sa.column("document", sa.JSON())
    )
    current = sa.select(version.c.authorisation_id, version.c.document).join(
        authorisation,
        (authorisation.c.id == version.c.authorisation_id) & (authorisation.c.version == version.c.version),
    )
    for key, document in connection.execute(current).all():
        connection.execute(
            authorisation.update().where(authorisation.c.id == key).values(paragraphs=document.get("paragraphs", {}))
        )
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.alter_column("paragraphs", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.drop_column("paragraphs")

    op.drop_table("audit_head")
