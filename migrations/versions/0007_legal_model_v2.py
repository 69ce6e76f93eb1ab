"""Legal model v2: declarations and events as recorded facts, the kinds of data subject as a
vocabulary, conditions with several responsible parties, to whom they are owed, a trigger and
gated purposes, onward disclosure with exceptions, and the national-register-number user list
stated or not.

Stored data is carried over as it was meant: a condition's one responsible party becomes a
list of one; every kind of data subject a stored flow names enters the vocabulary (labelled
with its id until a taxonomy document labels it); and where no user of an authorisation was
on the number's user list (``false`` was the default, so nobody had said anything), the field
becomes "not stated", which keeps those users' answers as they were. Where some user was on
it, the others are now held to it (§79-80). The stored documents say the same: a version in
which no user was on the list loses the ``national_register_number_list: false`` the old format
filled in (its digest is recomputed), so a document fetched and applied again does not turn
"nobody said" into "nobody may". Declaration days stated in documents stay where they were: a
document may state a day it knows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

log = logging.getLogger("alembic.runtime.migration")
revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fact_table(name: str, *columns: sa.schema.SchemaItem) -> None:
    """A recorded fact of an authorisation: who recorded it, when, and on what evidence."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        *columns,
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["authorisation_id"], ["authorisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f(f"ix_{name}_authorisation_id"), name, ["authorisation_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "data_subject_kind",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _fact_table(
        "declaration",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("organisation_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["supersedes_id"], ["declaration.id"]),
        sa.UniqueConstraint("supersedes_id"),
    )
    _fact_table(
        "condition_event",
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.UniqueConstraint("authorisation_id", "event", "occurred_on"),
    )
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("onward_disclosure_exceptions", sa.JSON(), nullable=True))
    with op.batch_alter_table("authorised_user", schema=None) as batch_op:
        batch_op.alter_column("national_register_number_list", existing_type=sa.Boolean(), nullable=True)
    with op.batch_alter_table("condition", schema=None) as batch_op:
        for column in ("responsible", "owed_to", "purposes"):
            batch_op.add_column(sa.Column(column, sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    _carry_over(op.get_bind())
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.alter_column("onward_disclosure_exceptions", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("condition", schema=None) as batch_op:
        for column in ("responsible", "owed_to", "purposes"):
            batch_op.alter_column(column, existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("responsible_id")


def _carry_over(connection: sa.Connection) -> None:
    authorisation = sa.table("authorisation", sa.column("onward_disclosure_exceptions", sa.JSON()))
    connection.execute(authorisation.update().values(onward_disclosure_exceptions=[]))
    _per_condition(
        connection,
        "responsible_id",
        lambda responsible: {"responsible": [responsible], "owed_to": [], "purposes": []},
    )
    user = sa.table(
        "authorised_user",
        sa.column("authorisation_id"),
        sa.column("national_register_number_list", sa.Boolean()),
    )
    keeping_a_list = sa.select(user.c.authorisation_id).where(user.c.national_register_number_list.is_(True))
    connection.execute(
        user.update()
        .where(user.c.authorisation_id.not_in(keeping_a_list.scalar_subquery()))
        .values(national_register_number_list=None)
    )
    _unstated_lists(connection)
    flow = sa.table("flow", sa.column("data_subjects", sa.JSON()))
    kinds = sorted({kind for (named,) in connection.execute(sa.select(flow.c.data_subjects)) for kind in named or []})
    if kinds:
        vocabulary = sa.table("data_subject_kind", sa.column("id"), sa.column("label"))
        connection.execute(vocabulary.insert(), [{"id": kind, "label": kind} for kind in kinds])


def _unstated_lists(connection: sa.Connection) -> None:
    """Drop the filled-in ``false`` from stored versions where no user was on the list."""
    version = sa.table(
        "authorisation_version",
        sa.column("authorisation_id"),
        sa.column("version"),
        sa.column("document", sa.JSON()),
        sa.column("digest"),
    )
    for key, number, document in connection.execute(
        sa.select(version.c.authorisation_id, version.c.version, version.c.document)
    ).all():
        users = document.get("authorised_users", [])
        if not users or any(user.get("national_register_number_list") is True for user in users):
            continue
        for user in users:
            user.pop("national_register_number_list", None)
        # authreg.storage.registry_rows.digest as of this revision; a migration does not import what may change
        digest = hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        log.warning(
            "authorisation %s version %s: nobody was on the national register number's user list; "
            "the field is now not stated (no user-level restriction). Apply the document again "
            "with national_register_number_list where a list was meant.",
            key,
            number,
        )
        connection.execute(
            version.update()
            .where((version.c.authorisation_id == key) & (version.c.version == number))
            .values(document=document, digest=digest)
        )


def _per_condition(connection: sa.Connection, source: str, values: Callable[[Any], dict[str, Any]]) -> None:
    """Set each condition's new columns from one old column (row by row: PostgreSQL's json
    type has no equality to group by)."""
    condition = sa.table(
        "condition",
        sa.column("authorisation_id"),
        sa.column("id"),
        *(sa.column(name, sa.JSON()) for name in ("responsible", "owed_to", "purposes")),
        sa.column("responsible_id"),
    )
    for key, condition_id, value in connection.execute(
        sa.select(condition.c.authorisation_id, condition.c.id, condition.c[source])
    ).all():
        connection.execute(
            condition.update()
            .where((condition.c.authorisation_id == key) & (condition.c.id == condition_id))
            .values(**values(value))
        )


def downgrade() -> None:
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("responsible_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    connection = op.get_bind()
    _per_condition(connection, "responsible", lambda responsible: {"responsible_id": responsible[0]})  # the first
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.alter_column(
            "responsible_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        )
        batch_op.create_foreign_key(
            "fk_condition_responsible_id_organisation", "organisation", ["responsible_id"], ["id"]
        )
        for column in ("responsible", "owed_to", "purposes", "trigger"):
            batch_op.drop_column(column)
    connection.execute(
        sa.table("authorised_user", sa.column("national_register_number_list", sa.Boolean()))
        .update()
        .where(sa.column("national_register_number_list").is_(None))
        .values(national_register_number_list=False)
    )
    with op.batch_alter_table("authorised_user", schema=None) as batch_op:
        batch_op.alter_column("national_register_number_list", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.drop_column("onward_disclosure_exceptions")
    op.drop_table("condition_event")
    op.drop_table("declaration")
    op.drop_table("data_subject_kind")
