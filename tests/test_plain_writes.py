"""Plain writes (``storage/plain_writes.py``), the audit log's path on every decision: values
reach the database exactly as given whatever they hold, an error keeps nothing of the
transaction, and on PostgreSQL a connection lost before the commit is replaced without costing
an answer, while one lost at the commit is an outage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, Column, DateTime, Engine, Integer, MetaData, String, Table, select, text

from authreg.domain.clock import utcnow
from authreg.domain.errors import Unavailable
from authreg.domain.requests import load_request
from authreg.services.decision_service import DecisionService
from authreg.storage import audit_log, identity
from authreg.storage.models import AuditEntry
from authreg.storage.plain_writes import WRITER_NAME, PlainStatement, plain_engine, plain_transaction
from authreg.storage.sessions import make_engine, reading
from tests.conftest import SEED_ASK, TEST_SECRET
from tests.triggers import trigger

PROBE = Table(
    "plain_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("label", String(200)),
    Column("body", JSON),
    Column("at", DateTime(timezone=True)),
)
INSERT = PlainStatement("INSERT INTO plain_probe (id, label, body, at) VALUES (:id, :label, :body, :at)", PROBE)
RELABEL = PlainStatement("UPDATE plain_probe SET label = :label WHERE id = :id RETURNING id, label", PROBE)
# what a client-side binding, or a statement split on ";", would get wrong
HOSTILE = [
    "'; DROP TABLE plain_probe; --",
    "back\\slash \\' and \\\\",
    "$1 $$ dollar-quoted $$ $tag$",
    "%s %(id)s %% percent",
    "ünïcødé, 😀, \u202e",
    'a "quoted" ; semicolon',
]


@pytest.fixture
def probe(engine: Engine) -> Iterator[Engine]:
    """The registry's database with a table of every kind of column the audit log writes, and
    the engine a plain writer writes it through."""
    PROBE.create(engine)
    writer = plain_engine(engine)
    yield writer
    if writer is not engine:
        writer.dispose()


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    with reading(engine) as session:
        return [tuple(row) for row in session.execute(select(PROBE).order_by(PROBE.c.id))]


def test_values_reach_the_database_exactly_as_given(probe: Engine, engine: Engine) -> None:
    at = datetime(2026, 12, 1, 4, 30, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    rows = [
        {"id": i, "label": value, "body": {"said": value, "nul": "\x00", "nested": [value, {"k": value}]}, "at": at}
        for i, value in enumerate(HOSTILE)
    ]
    with plain_transaction(probe) as write:
        write.run_many(INSERT, rows[:-1])
        write.run(INSERT, rows[-1])
        relabelled = write.rows(RELABEL, {"id": 0, "label": HOSTILE[1]})  # after the held-back inserts
    assert relabelled == [(0, HOSTILE[1])]
    found = stored(engine)
    assert [row[1] for row in found] == [HOSTILE[1], *HOSTILE[1:]]
    assert [row[2] for row in found] == [row["body"] for row in rows]
    if engine.dialect.name == "postgresql":  # the same instant, whatever the offset
        assert all(row[3] == at for row in found)
    else:  # SQLite keeps no offset (the audit log writes UTC)
        assert all(row[3] == at.replace(tzinfo=None) for row in found)


def test_an_error_keeps_nothing_of_the_transaction_and_the_next_one_works(probe: Engine, engine: Engine) -> None:
    row = {"id": 1, "label": "first", "body": {}, "at": utcnow()}
    with pytest.raises(Unavailable), plain_transaction(probe) as write:
        write.run(INSERT, row)
        write.run(INSERT, row)  # the same key twice: refused at the commit's round trip
    assert stored(engine) == []
    with plain_transaction(probe) as write:
        write.run(INSERT, row)
    assert [found[0] for found in stored(engine)] == [1]


# a connection of the writer's own, and its loss, are PostgreSQL's
on_postgres = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def service_on_postgres(seeded: Engine) -> DecisionService:
    return DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)


def connections(engine: Engine) -> list[str]:
    """The names of the connections to the test's database but this one."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT application_name FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )


def cut_off_other_connections(engine: Engine) -> None:
    """What a restarted server or a broken network does to every connection but this one."""
    with engine.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        connection.commit()


def chain_holds(engine: Engine) -> audit_log.Verification:
    with reading(engine) as session:
        return audit_log.verify(session, key=identity.chain_key(TEST_SECRET))


@on_postgres
def test_a_connection_lost_before_the_commit_costs_no_answer(service_on_postgres: DecisionService) -> None:
    service, engine = service_on_postgres, service_on_postgres.db
    first = service.ask(load_request(SEED_ASK), asked_by="app", now=utcnow())
    assert WRITER_NAME in connections(engine)
    cut_off_other_connections(engine)
    second = service.ask(load_request(SEED_ASK), asked_by="app", now=utcnow())  # on a new connection
    found = chain_holds(engine)
    assert found.intact
    with reading(engine) as session:
        logged = session.execute(text("SELECT decision_id FROM audit_entry ORDER BY seq")).scalars().all()
    assert logged[-2:] == [first["decision_id"], second["decision_id"]]  # each once, in order


@on_postgres
def test_a_connection_lost_at_the_commit_is_an_outage(service_on_postgres: DecisionService) -> None:
    """The entry and the commit go in one round trip: lost there, nobody can say whether it
    committed, so it is not tried again and nothing is answered (503)."""
    service, engine = service_on_postgres, service_on_postgres.db
    service.ask(load_request(SEED_ASK), asked_by="app", now=utcnow())
    before = chain_holds(engine).entries
    with engine.begin() as connection:  # not rolled back with the transaction it is used in
        connection.execute(text("CREATE SEQUENCE lost_once"))
    with (
        trigger(
            engine,
            "lose_connection",
            "BEFORE INSERT ON audit_entry",
            "nextval('lost_once') = 1",  # once: a second try would get through
            run="PERFORM pg_terminate_backend(pg_backend_pid())",
        ),
        pytest.raises(Unavailable) as raised,
    ):
        service.ask(load_request(SEED_ASK), asked_by="app", now=utcnow())
    assert raised.type is Unavailable  # not Retryable
    assert chain_holds(engine).entries == before
    service.ask(load_request(SEED_ASK), asked_by="app", now=utcnow())  # and then on a new connection
    assert chain_holds(engine).entries == before + 1


@on_postgres
def test_a_schema_change_under_the_prepared_statements_costs_no_answer(service_on_postgres: DecisionService) -> None:
    """A migration that changes a column the writer's prepared statements return: the first
    write after it fails before its commit, and runs again on a new connection."""
    service, engine = service_on_postgres, service_on_postgres.db
    for _ in range(3):
        service.ask(load_request(SEED_ASK), asked_by="app", now=utcnow())
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_head ALTER COLUMN seq TYPE bigint"))
    for _ in range(3):
        service.ask(load_request(SEED_ASK), asked_by="app", now=utcnow())
    found = chain_holds(engine)
    assert found.intact and found.entries == 6


@on_postgres
def test_the_writers_connection_closes_with_the_registrys_engine(seeded: Engine, database_url: str) -> None:
    own = make_engine(database_url)
    service = DecisionService.load(own, timezone="Europe/Brussels", secret=TEST_SECRET)
    service.ask(load_request(SEED_ASK), asked_by="app", now=utcnow())
    assert connections(seeded).count(WRITER_NAME) == 1
    own.dispose()
    deadline = time.monotonic() + 5
    while WRITER_NAME in connections(seeded):  # a backend ends a moment after its client left
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_what_was_asked_is_logged_exactly_whatever_it_holds(seeded: Engine) -> None:
    """The audit log's own path (on PostgreSQL the entries go in as one JSON array): requests
    holding quotes, backslashes, JSON and SQL syntax, and text beyond ASCII are logged as
    asked and answered, and the chain, recomputed from the stored rows, holds."""
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    asked = [{**SEED_ASK, "user": value, "purpose": value[::-1]} for value in HOSTILE]
    answers = service.ask_many([load_request(body) for body in asked], asked_by="app'; --", now=utcnow())
    answers.append(service.ask(load_request({**SEED_ASK, "user": HOSTILE[0]}), asked_by="\\", now=utcnow()))
    with reading(seeded) as session:
        newest = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(len(answers))  # type: ignore[union-attr]
        stored = {entry.decision_id: entry for entry in session.execute(newest).scalars()}
    said = [*asked, {**SEED_ASK, "user": HOSTILE[0]}]
    for answer, body, by in zip(answers, said, ["app'; --"] * len(asked) + ["\\"], strict=True):
        entry = stored[answer["decision_id"]]
        assert (entry.request["user"], entry.request["purpose"], entry.asked_by) == (body["user"], body["purpose"], by)
    assert chain_holds(seeded).intact
