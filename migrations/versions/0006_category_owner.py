"""Who owns each data category: NULL for the shared taxonomy, otherwise the authorisation whose
own ``taxonomy`` declared it, so that no other document can redefine it.

The fill reads each authorisation's current document: a category listed in the ``taxonomy`` of
exactly one of them becomes that authorisation's own, but only where that breaks no rule of
ownership: its parent is its owner's too (or it has none), no other category hangs below it,
and no other authorisation's flow grants it. Anything else stays shared: one listed by several
(which earlier versions allowed when they agreed), and one an authorisation redefined though it
belonged to the taxonomy (``insz`` with ``national_register_number: false``: made that
authorisation's own, the taxonomy could no longer repair it), as does every category no
authorisation lists.

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
    category = sa.table("data_category", sa.column("id"), sa.column("parent_id"), sa.column("owner_id"))
    parents = dict(connection.execute(sa.select(category.c.id, category.c.parent_id)).all())
    flow_category = sa.table("flow_category", sa.column("authorisation_id"), sa.column("category_id"))
    granted_by: dict[str, set[str]] = {}
    for key, category_id in connection.execute(
        sa.select(flow_category.c.authorisation_id, flow_category.c.category_id)
    ):
        granted_by.setdefault(category_id, set()).add(key)
    for category_id, owner in sorted(_owners(declared_by, parents, granted_by).items()):
        connection.execute(category.update().where(category.c.id == category_id).values(owner_id=owner))


def _owners(
    declared_by: dict[str, set[str]], parents: dict[str, str | None], granted_by: dict[str, set[str]]
) -> dict[str, str]:
    """The categories that may become their declarer's own: dropped until none breaks a rule."""
    owners = {key: next(iter(by)) for key, by in declared_by.items() if len(by) == 1 and key in parents}
    children: dict[str, list[str]] = {}
    for key, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(key)
    changed = True
    while changed:
        changed = False
        for key, owner in list(owners.items()):
            parent = parents[key]
            if (
                (parent is not None and owners.get(parent) != owner)
                or granted_by.get(key, set()) - {owner}
                or any(owners.get(child) != owner for child in children.get(key, ()))
            ):
                del owners[key]
                changed = True
    return owners


def downgrade() -> None:
    with op.batch_alter_table("data_category", schema=None) as batch_op:
        batch_op.drop_constraint("fk_data_category_owner_id_authorisation", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_data_category_owner_id"))
        batch_op.drop_column("owner_id")
