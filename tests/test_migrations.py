"""Migrations are the schema: up from empty to head matches the models exactly, and down to
base leaves nothing behind, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import authreg.storage.models  # noqa: F401 - the tables to compare with
from authreg.storage import migrate
from authreg.storage.sessions import make_engine


def test_upgrade_from_empty_reaches_the_models_and_downgrade_removes_everything(database_url: str) -> None:
    engine = make_engine(database_url, create=True)  # inspects a database not made yet
    assert inspect(engine).get_table_names() == []

    migrate.upgrade(database_url)
    tables = set(inspect(engine).get_table_names())
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
        assert context.get_current_revision() is not None

    migrate.downgrade(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(database_url)  # and up again: downgrade left nothing that blocks it
    assert set(inspect(engine).get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
    engine.dispose()


def test_upgrade_keeps_the_data_of_an_older_schema(database_url: str) -> None:
    """0003 adds the paragraphs map to stored authorisations from their current document, and
    starts the audit chain; on SQLite its table rebuild must survive the foreign keys."""
    migrate.upgrade(database_url, "0002")
    engine = make_engine(database_url)
    document = json.dumps({"id": "a", "paragraphs": {"valid_until": [99]}})
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO organisation (id, name, kind) VALUES ('VTC', 'VTC', 'organisation')"))
        connection.execute(
            text(
                "INSERT INTO authorisation (id, reference, title, authority_id, decided_on, valid_from, status, "
                "sensitive, version, updated_at) VALUES ('a', 'r', 't', 'VTC', '2017-09-13', '2017-09-13', 'active', "
                "false, 1, '2017-09-13 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO authorisation_version (authorisation_id, version, document, digest, created_at, "
                "created_by, note) VALUES ('a', 1, :document, 'd', '2017-09-13 00:00:00', 'me', 'n')"
            ),
            {"document": document},
        )
    migrate.upgrade(database_url)
    with engine.connect() as connection:
        paragraphs = connection.execute(text("SELECT paragraphs FROM authorisation")).scalar_one()
        head = connection.execute(text("SELECT seq, entry_hash FROM audit_head")).one()
    assert (json.loads(paragraphs) if isinstance(paragraphs, str) else paragraphs) == {"valid_until": [99]}
    assert tuple(head) == (0, "0" * 64)
    engine.dispose()
