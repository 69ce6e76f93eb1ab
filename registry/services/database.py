"""The database as a whole, as the surfaces see it: open it, bring its schema to the newest
migration, check that a secret key is this registry's, and whether a decision could be logged
right now. A surface holds the ``Database`` as an opaque handle and hands it to services; which
library is behind it, and every session, stay on the floors below."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from authreg.storage import identity, migrate
from authreg.storage.sessions import make_engine, probe_write

Database = Engine
# What a surface tells apart when the database fails outside a service's own handling: a clash
# with a concurrent change (409), a value the database refused (422), any other fault (503).
DatabaseFault = SQLAlchemyError
Clash = IntegrityError
RefusedValue = DataError


def open_database(url: str) -> Database:
    return make_engine(url)


def upgrade(url: str) -> None:
    """Create the schema or bring it to the newest migration (``authreg init``)."""
    migrate.upgrade(url)


def check_key(database: Database, secret: str) -> None:
    """Refuse (``KeyMismatch``) a secret key that is not the one this registry is used with."""
    identity.check_key(database, secret)


def key_fingerprint(database: Database) -> str | None:
    """The fingerprint of the secret key the registry is used with, None while it has none."""
    return identity.recorded_fingerprint(database)


def probe(database: Database, expected_registry: str | None) -> None:
    """Could a decision be logged now, in the registry this process loaded? ``Unavailable`` when
    not (lock held too long, another or no registry), ``DatabaseFault`` when it cannot be reached."""
    found = probe_write(database)
    if expected_registry is not None:
        identity.expect_same(found, expected_registry)


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)
