"""Fixtures named after what they give: databases (SQLite file, real PostgreSQL), a migrated
engine, the seed applied, the CLI runner and the Flask client.

Migrating and applying ``policies/`` took most of the suite's time when every test did it. So
each session (each xdist worker) builds two templates once, from whatever the migrations and
the policies say at its start: ``migrated`` (an empty registry at the newest revision) and
``seeded`` (that with ``policies/`` applied). A test's database is born as a copy of the
template its fixtures ask for: a copied file on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL. Nothing is kept across sessions.

Hypothesis runs a short profile by default and the long one under ``CI=true``; a test states
its example count at CI scale through ``examples``.
"""

from __future__ import annotations

import copy
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import Engine, MetaData, select, update

from authreg.app import create_app
from authreg.cli.main import main
from authreg.domain import yaml_input
from authreg.domain.clock import Clock, utcnow
from authreg.domain.documents import Document, read_paths
from authreg.services import tokens
from authreg.services.apply import apply_documents
from authreg.services.record_facts import communicate_sample, record_declaration, register_sample
from authreg.storage import identity, migrate
from authreg.storage.models import RegistryIdentity
from authreg.storage.sessions import make_engine
from bench.generate import START, documents
from tests.postgres import PostgresServer, running_server

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
SEED = POLICIES / "authorisations" / "vtc-2017-amif-aii-wse.yaml"
SEED_ID = "vtc-2017-amif-aii-wse"
# The seed's facts (``record_seed_facts``) date from this day: both users' declarations of
# honour (§78) and a sample holding SEED_SUBJECT, communicated to the consultants (§100).
SEED_FACTS_DAY = date(2017, 10, 2)
SEED_SUBJECT = "90010100123"
# A request the seeded registry allows (from SEED_FACTS_DAY on): tests vary it field by field.
SEED_ASK = {
    "user": "esf-controller-1",
    "organisation": "WSE-ESF",
    "data_category": "naam",
    "purpose": "amif-eligibility",
    "data_subject": SEED_SUBJECT,
}
TEST_SECRET = "9c1e5f0b7a3d48e2b6f1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9"


def check_args(asked: dict[str, str]) -> tuple[str, ...]:
    """``authreg check`` asking what a request body asks (``SEED_ASK`` and its variants): one
    request, written once, for the CLI as for the API."""
    names = {"data_category": "category", "data_subject": "subject"}
    return (
        "check",
        *(part for key, value in asked.items() for part in (f"--{names.get(key, key).replace('_', '-')}", value)),
    )


# The CI profile keeps hypothesis' standard 100 examples as the unit; the default one a fifth.
settings.register_profile("ci", max_examples=100, print_blob=True)
settings.register_profile("default", max_examples=20)
IN_CI = os.environ.get("CI") == "true"
settings.load_profile("ci" if IN_CI else "default")
CI_EXAMPLES = 100


def examples(at_ci: int) -> int:
    """A test's example count: ``at_ci`` under ``CI=true``, scaled down with the profile otherwise."""
    return max(1, at_ci * settings.default.max_examples // CI_EXAMPLES)


Template = Literal["migrated", "seeded"]

# A test asks for one database of one kind; if it also asks for the registry in it, the database
# is made as a copy of the template of the deepest fixture it uses.
_TEMPLATE_OF_FIXTURE: tuple[tuple[str, Template], ...] = (("seeded", "seeded"), ("engine", "migrated"))

# For a test that needs a database to stand up its fixtures but whose behaviour never reaches
# it (``authreg test`` builds its own throw-away registry; a request refused before any SQL):
# SQLite only, instead of once per database.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _template_for(request: pytest.FixtureRequest) -> Template | None:
    wanted = set(request.fixturenames)
    return next((template for fixture, template in _TEMPLATE_OF_FIXTURE if fixture in wanted), None)


def _fill(url: str, template: Template) -> None:
    """Build a template in an empty database: the newest migration, then (seeded) the policies
    applied as the ``seeded`` fixture always did, by actor "test" at the current time. Both have
    been used with ``TEST_SECRET`` (its fingerprint recorded, the audit head sealed), as a
    registry is after its first keyed command, so a refused command writes nothing at all."""
    migrate.upgrade(url)
    engine = make_engine(url)
    identity.check_key(engine, TEST_SECRET)
    if template == "seeded":
        apply_documents(engine, read_paths([POLICIES]), actor="test", now=utcnow())
        record_seed_facts(engine)
    engine.dispose()


def record_seed_facts(engine: Engine) -> None:
    """What the seed needs beyond its document before it allows anything: the decision says the
    users *will* sign (§78) and gates every access on communicated samples (§90-92, §100)."""
    clock = Clock.current("Europe/Brussels")
    for user in ("esf-controller-1", "esf-controller-2"):
        record_declaration(
            engine, authorisation=SEED_ID, user=user, signed_on=SEED_FACTS_DAY, actor="test", clock=clock
        )
    facts: dict[str, Any] = {"authorisation": SEED_ID, "sample": "controle-2017", "actor": "test", "clock": clock}
    register_sample(engine, drawn_on=SEED_FACTS_DAY, subjects=[SEED_SUBJECT], secret=TEST_SECRET, **facts)
    communicate_sample(engine, on=SEED_FACTS_DAY, to=["KBI-SC"], **facts)


@dataclass
class SqliteTemplates:
    """Template files, built on first use in the session's temporary folder."""

    folder: Path

    def path(self, template: Template) -> Path:
        path = self.folder / f"{template}.db"
        if not path.exists():
            _fill(f"sqlite:///{path}", template)
        return path

    def copy(self, template: Template, to: Path) -> None:
        """SQLite's backup API: a consistent copy whatever state the template's WAL is in."""
        with closing(sqlite3.connect(self.path(template))) as source, closing(sqlite3.connect(to)) as target:
            source.backup(target)


@dataclass
class PostgresTemplates:
    """Template databases on the session's server, built on first use."""

    server: PostgresServer
    built: set[Template]

    def name(self, template: Template) -> str:
        name = f"template_{template}"
        if template not in self.built:
            self.server.create_database(name)
            _fill(self.server.url(name), template)
            self.built.add(template)
        return name


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_server() as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    return SqliteTemplates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session")
def postgres_templates(postgres: PostgresServer) -> PostgresTemplates:
    return PostgresTemplates(postgres, set())


@pytest.fixture
def sqlite_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A SQLite file of the test's own: not there yet, or a copy of the template the test's
    ``engine`` or ``seeded`` needs."""
    path = tmp_path / "authreg.db"
    template = _template_for(request)
    if template is not None:
        request.getfixturevalue("sqlite_templates").copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL database of the test's own: empty, or made from the template the test's
    ``engine`` or ``seeded`` needs."""
    template = _template_for(request)
    source = None if template is None else request.getfixturevalue("postgres_templates").name(template)
    name = postgres.create_database(template=source)
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on a real PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An empty registry at the newest migration; the seeded one when the test also asks for
    ``seeded`` (``database_url`` was made from that template).

    Every copy of a template would be the same registry: it gets an identity of its own, as a
    database migrated for the test alone had, or one test's checkpoints would match another's."""
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(update(RegistryIdentity).values(registry_id=str(uuid.uuid4())))
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The registry with everything in ``policies/`` applied (``database_url`` was made from
    that template)."""
    return engine


@pytest.fixture
def outside(tmp_path: Path) -> dict[str, str]:
    """Where the test's processes keep what lives outside the database (the signing key, the
    checkpoints): in the test's folder, never in the project's ``var/`` that every test shares."""
    return {"SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.key"), "CHECKPOINT_DIR": str(tmp_path / "checkpoints")}


@pytest.fixture
def run_cli(database_url: str, outside: dict[str, str]) -> Callable[..., Any]:
    """``authreg`` as a user calls it, on the test database; returns click's Result."""
    runner = CliRunner()
    kept = {f"AUTHREG_{name}": path for name, path in outside.items()}

    def run(*args: str, input: str | None = None, **env: str) -> Any:
        environment = {"AUTHREG_SECRET_KEY": TEST_SECRET, "AUTHREG_ACTOR": "tester", **kept, **env}
        return runner.invoke(
            main, ["--database-url", database_url, *args], input=input, env=environment, catch_exceptions=False
        )

    return run


@pytest.fixture
def seed_document() -> dict[str, Any]:
    """The seed authorisation as parsed YAML, to be altered by a test."""
    return copy.deepcopy(yaml_input.load(SEED.read_text(encoding="utf-8")))


@pytest.fixture
def api(seeded: Engine, database_url: str, outside: dict[str, str]) -> Iterator[Flask]:
    """The WSGI app on the seeded registry, with a subject key: without one a server can log no
    decision, and /health says so (503)."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SUBJECT_KEY": TEST_SECRET, **outside})
    yield app
    app.extensions["authreg.engine"].dispose()


@pytest.fixture
def client(api: Flask) -> FlaskClient:
    return api.test_client()


def dump_tables(engine: Engine, metadata: MetaData | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal dumps mean nothing was written. Reflecting the
    tables costs more than reading them: a caller dumping one schema often passes it reflected."""
    if metadata is None:
        metadata = MetaData()
        metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted((tuple(map(repr, row)) for row in connection.execute(select(table))), key=repr)
            for name, table in metadata.tables.items()
        }


def generated_registry(
    folder: Path, *, size: int, seed: int, change: Callable[[list[Document]], None] | None = None
) -> tuple[Engine, dict[str, dict[str, Any]]]:
    """A SQLite registry of the bench's shape (``bench.generate``), ``change`` made to its
    documents first, and the authorisations' documents by id."""
    url = f"sqlite:///{folder / 'generated.db'}"
    made = documents(size, seed=seed)
    if change is not None:
        change(made)
    migrate.upgrade(url)
    engine = make_engine(url)
    apply_documents(engine, made, actor="test", now=datetime.combine(START, datetime.min.time(), UTC))
    return engine, {d.body["id"]: d.body for d in made if d.kind == "authorisation"}


def write_yaml(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(yaml_input.dump(data), encoding="utf-8")
    return path


@pytest.fixture
def bearer(seeded: Engine) -> dict[str, dict[str, str]]:
    """One token per role, as Authorization headers; the token's name is ``<role>-token``."""
    return {
        role: {"Authorization": f"Bearer {tokens.create(seeded, name=f'{role}-token', role=role, now=utcnow())}"}
        for role in tokens.ROLES
    }
