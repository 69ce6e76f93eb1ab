"""Who owns each data category: NULL for the shared taxonomy, otherwise the authorisation whose
own ``taxonomy`` declared it, so that no other document can redefine it.

The fill reads each authorisation's current document: a category listed in the ``taxonomy`` of
exactly one of them becomes that authorisation's own. One listed by several (which earlier
versions allowed when they agreed) cannot belong to any one of them and stays shared, as does
every category no authorisation lists.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_category", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_data_category_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_data_category_owner_id_authorisation",
            "authorisation",
            ["owner_id"],
            ["id"],
            deferrable=True,
            initially="DEFERRED",
        )
    connection = op.get_bind()
    authorisation = sa.table("authorisation", sa.column("id"), sa.column("version"))
    version = sa.table(
        "authorisation_version", sa.column("authorisation_id"), sa.column("version"), sa.column("document", sa.JSON())
    )
    current = sa.select(version.c.authorisation_id, version.c.document).join(
        authorisation,
        (authorisation.c.id == version.c.authorisation_id) & (authorisation.c.version == version.c.version),
    )
    declared_by: dict[str, set[str]] = {}
    for key, document in connection.execute(current).all():
        for entry in document.get("taxonomy", []):
            declared_by.setdefault(entry["id"], set()).add(key)
    category = sa.table("data_category", sa.column("id"), sa.column("owner_id"))
    for category_id, owners in sorted(declared_by.items()):
        if len(owners) == 1:
            connection.execute(
                category.update().where(category.c.id == category_id).values(owner_id=next(iter(owners)))
            )


def downgrade() -> None:
    with op.batch_alter_table("data_category", schema=None) as batch_op:
        batch_op.drop_constraint("fk_data_category_owner_id_authorisation", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_data_category_owner_id"))
        batch_op.drop_column("owner_id")
