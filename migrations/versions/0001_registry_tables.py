"""Registry tables: organisations, taxonomy, authorisations and their parts, conditions,
samples, the audit log, API tokens and the registry change counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 15:23:44.573664
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("decision_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluated_at", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("flow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("registry_version", sa.Integer(), nullable=False),
        sa.Column("asked_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("previous_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entry_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("decision_id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_authorisation_id"), ["authorisation_id"], unique=False)

    op.create_table(
        "data_category",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("parent_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("national_register_number", sa.Boolean(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["data_category.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("data_category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_category_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "organisation",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "registry_change",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "authorisation",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authority_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("frequency", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("retention_until", sa.Date(), nullable=True),
        sa.Column("onward_disclosure", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("max_users", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorisation_status"), ["status"], unique=False)

    op.create_table(
        "organisation_membership",
        sa.Column("member_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("group_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("member_id", "group_id"),
    )
    op.create_table(
        "amendment",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "position"),
    )
    op.create_table(
        "authorisation_replacement",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("replaced_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "replaced_id"),
    )
    with op.batch_alter_table("authorisation_replacement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorisation_replacement_replaced_id"), ["replaced_id"], unique=False)

    op.create_table(
        "authorisation_version",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "version"),
    )
    op.create_table(
        "authorised_user",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("organisation_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("profile", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("declaration_signed_on", sa.Date(), nullable=True),
        sa.Column("national_register_number_list", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "id"),
    )
    with op.batch_alter_table("authorised_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorised_user_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "condition",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("responsible_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("every", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("within", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("effect", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["responsible_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "id"),
    )
    op.create_table(
        "condition_fulfilment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("condition_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("fulfilled_on", sa.Date(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["condition_fulfilment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("condition_fulfilment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_condition_fulfilment_authorisation_id"), ["authorisation_id"], unique=False
        )

    op.create_table(
        "flow",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("from_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("to_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("national_register_number", sa.Boolean(), nullable=False),
        sa.Column("national_register_number_paragraphs", sa.JSON(), nullable=False),
        sa.Column("data_subjects", sa.JSON(), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["from_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "id"),
    )
    with op.batch_alter_table("flow", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flow_to_id"), ["to_id"], unique=False)

    op.create_table(
        "legal_basis",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "id"),
    )
    op.create_table(
        "party",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("organisation_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("acts_for_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acts_for_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "organisation_id"),
    )
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "purpose",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "id"),
    )
    op.create_table(
        "sample",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("drawn_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisation.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "id"),
    )
    op.create_table(
        "flow_category",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("flow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("category_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id", "flow_id"],
            ["flow.authorisation_id", "flow.id"],
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["data_category.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "flow_id", "category_id"),
    )
    op.create_table(
        "flow_purpose",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("flow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("purpose_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id", "flow_id"],
            ["flow.authorisation_id", "flow.id"],
        ),
        sa.ForeignKeyConstraint(
            ["authorisation_id", "purpose_id"],
            ["purpose.authorisation_id", "purpose.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "flow_id", "purpose_id"),
    )
    op.create_table(
        "party_role",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("organisation_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id", "organisation_id"],
            ["party.authorisation_id", "party.organisation_id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "organisation_id", "role"),
    )
    with op.batch_alter_table("party_role", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_role_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "sample_communication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("sample_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("communicated_on", sa.Date(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id", "sample_id"],
            ["sample.authorisation_id", "sample.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sample_communication", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sample_communication_authorisation_id"), ["authorisation_id"], unique=False
        )

    op.create_table(
        "sample_subject",
        sa.Column("authorisation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("sample_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("subject_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id", "sample_id"],
            ["sample.authorisation_id", "sample.id"],
        ),
        sa.PrimaryKeyConstraint("authorisation_id", "sample_id", "subject_hash"),
    )


def downgrade() -> None:
    op.drop_table("sample_subject")
    with op.batch_alter_table("sample_communication", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sample_communication_authorisation_id"))

    op.drop_table("sample_communication")
    with op.batch_alter_table("party_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_role_organisation_id"))

    op.drop_table("party_role")
    op.drop_table("flow_purpose")
    op.drop_table("flow_category")
    op.drop_table("sample")
    op.drop_table("purpose")
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_organisation_id"))

    op.drop_table("party")
    op.drop_table("legal_basis")
    with op.batch_alter_table("flow", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_to_id"))

    op.drop_table("flow")
    with op.batch_alter_table("condition_fulfilment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_condition_fulfilment_authorisation_id"))

    op.drop_table("condition_fulfilment")
    op.drop_table("condition")
    with op.batch_alter_table("authorised_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorised_user_organisation_id"))

    op.drop_table("authorised_user")
    op.drop_table("authorisation_version")
    with op.batch_alter_table("authorisation_replacement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorisation_replacement_replaced_id"))

    op.drop_table("authorisation_replacement")
    op.drop_table("amendment")
    op.drop_table("organisation_membership")
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorisation_status"))

    op.drop_table("authorisation")
    op.drop_table("registry_change")
    op.drop_table("organisation")
    with op.batch_alter_table("data_category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_category_parent_id"))

    op.drop_table("data_category")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_authorisation_id"))

    op.drop_table("audit_entry")
    op.drop_table("api_token")
