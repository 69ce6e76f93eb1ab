"""Migrations are the schema: up from empty to head matches the models exactly, and down to
base leaves nothing behind, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import registry.models  # noqa: F401 - the tables to compare with
from registry import migrate
from registry.db import make_engine


def test_upgrade_from_empty_reaches_the_models_and_downgrade_removes_everything(database_url: str) -> None:
    engine = make_engine(database_url)
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
