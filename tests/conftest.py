"""Fixtures named after what they give: databases (SQLite file, real PostgreSQL), a migrated
engine, the seed applied, the CLI runner and the Flask client."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, MetaData, select

from cli.main import main
from registry import migrate, tokens, yamlio
from registry.app import create_app
from registry.applying import apply_documents
from registry.db import make_engine
from registry.documents import read_paths
from registry.store import utcnow
from tests.postgres import PostgresServer, running_server

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
SEED = POLICIES / "authorisations" / "vtc-2017-amif-aii-wse.yaml"
SEED_ID = "vtc-2017-amif-aii-wse"
TEST_SECRET = "9c1e5f0b7a3d48e2b6f1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'authreg.db'}"


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    name = postgres.create_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on a real PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An empty registry at the newest migration."""
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The registry with everything in ``policies/`` applied."""
    apply_documents(engine, read_paths([POLICIES]), actor="test", now=utcnow())
    return engine


@pytest.fixture
def run_cli(database_url: str) -> Callable[..., Any]:
    """``authreg`` as a user calls it, on the test database; returns click's Result."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, **env: str) -> Any:
        environment = {"AUTHREG_SECRET_KEY": TEST_SECRET, "AUTHREG_ACTOR": "tester", **env}
        return runner.invoke(
            main, ["--database-url", database_url, *args], input=input, env=environment, catch_exceptions=False
        )

    return run


@pytest.fixture
def seed_document() -> dict[str, Any]:
    """The seed authorisation as parsed YAML, to be altered by a test."""
    return copy.deepcopy(yamlio.load(SEED.read_text(encoding="utf-8")))


@pytest.fixture
def app(seeded: Engine, database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    yield app
    app.extensions["authreg.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def dump_tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal dumps mean nothing was written."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted((tuple(map(repr, row)) for row in connection.execute(select(table))), key=repr)
            for name, table in metadata.tables.items()
        }


def write_yaml(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(yamlio.dump(data), encoding="utf-8")
    return path


@pytest.fixture
def api(seeded: Engine, database_url: str) -> Iterator[Flask]:
    """The WSGI app on the seeded registry, with a subject key."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SUBJECT_KEY": TEST_SECRET})
    yield app
    app.extensions["authreg.engine"].dispose()


@pytest.fixture
def bearer(seeded: Engine) -> dict[str, dict[str, str]]:
    """One token per role, as Authorization headers; the token's name is ``<role>-token``."""
    return {
        role: {"Authorization": f"Bearer {tokens.create(seeded, name=f'{role}-token', role=role, now=utcnow())}"}
        for role in tokens.ROLES
    }
