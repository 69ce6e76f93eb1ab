"""Fail closed: a SQLite file deleted or replaced under a running server, a database locked
for too long, errors that are not outages, and status changes dated in the future."""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from authreg.app import create_app
from authreg.domain.errors import Conflict, Invalid, RegistryError, Unavailable
from authreg.domain.requests import load_request
from authreg.services.decision_service import DecisionService
from authreg.storage.sessions import make_engine, transaction
from tests.conftest import SEED_ASK, SEED_ID, TEST_SECRET, sqlite_only

ASK = {**SEED_ASK, "at": "2018-01-01"}


@pytest.fixture
def on_file(api: Flask, bearer: dict[str, dict[str, str]], tmp_path: Path) -> tuple[Flask, Path, dict[str, str]]:
    """The server on its SQLite file (tests marked ``sqlite_only``): (app, file, application headers)."""
    return api, tmp_path / "authreg.db", bearer["application"]


def entries(path: Path) -> int:
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        found = int(connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one())
    engine.dispose()
    return found


def move_away(path: Path, to: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            os.rename(f"{path}{suffix}", f"{to}{suffix}")


@sqlite_only
def test_a_deleted_file_is_an_outage_until_it_is_back(on_file: tuple[Flask, Path, dict[str, str]]) -> None:
    app, path, headers = on_file
    client = app.test_client()
    assert client.post("/api/v1/decisions", json=ASK, headers=headers).get_json()["decision"] == "allow"
    aside = path.with_name("aside.db")
    move_away(path, aside)
    for _ in range(3):  # every pooled connection still holds the old file open
        answer = client.post("/api/v1/decisions", json=ASK, headers=headers)
        assert answer.status_code == 503 and answer.mimetype == "application/problem+json"
    assert client.get("/health").status_code == 503
    assert not path.exists()  # and no empty database was made in its place
    move_away(aside, path)
    assert client.post("/api/v1/decisions", json=ASK, headers=headers).status_code == 200
    assert client.get("/health").status_code == 200
    assert entries(path) == 2  # every answered decision is in the log


@sqlite_only
def test_recording_a_fact_while_the_file_is_gone_is_an_outage_and_records_nothing(
    on_file: tuple[Flask, Path, dict[str, str]], bearer: dict[str, dict[str, str]]
) -> None:
    app, path, _ = on_file
    client, officer = app.test_client(), bearer["privacy-officer"]
    writes = {
        f"/api/v1/authorisations/{SEED_ID}/users/esf-controller-1/declarations": {"signed_on": "2017-10-05"},
        f"/api/v1/authorisations/{SEED_ID}/events": {"event": "hbplus-engaged", "occurred_on": "2018-05-01"},
    }
    aside = path.with_name("aside.db")
    move_away(path, aside)
    for url, body in writes.items():
        answer = client.post(url, json=body, headers=officer)
        assert answer.status_code == 503 and answer.mimetype == "application/problem+json", url
    assert not path.exists()
    move_away(aside, path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM condition_event")).scalar_one() == 0
        assert connection.execute(text("SELECT count(*) FROM declaration")).scalar_one() == 2  # the seed's own
    engine.dispose()


@sqlite_only
def test_a_replaced_file_is_another_registry(on_file: tuple[Flask, Path, dict[str, str]], tmp_path: Path) -> None:
    app, path, headers = on_file
    client = app.test_client()
    assert client.post("/api/v1/decisions", json=ASK, headers=headers).status_code == 200
    other = tmp_path / "other.db"  # another registry that happens to know the same token
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(other)) as target:
        source.backup(target)  # with what is still in the write-ahead log
    engine = make_engine(f"sqlite:///{other}")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry"))
        connection.execute(text("UPDATE registry_identity SET registry_id = 'another-registry'"))
    engine.dispose()
    move_away(path, tmp_path / "old.db")
    shutil.copyfile(other, path)
    answer = client.post("/api/v1/decisions", json=ASK, headers=headers)
    assert answer.status_code == 503
    assert client.get("/health").get_json() == {"status": "unavailable", "detail": "decisions cannot be logged now"}
    assert entries(path) == 0


@sqlite_only
def test_health_is_503_while_the_database_is_locked(on_file: tuple[Flask, Path, dict[str, str]]) -> None:
    app, path, _ = on_file
    client = app.test_client()
    assert client.get("/health").status_code == 200
    holder = make_engine(f"sqlite:///{path}")
    with holder.connect() as connection:
        connection.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: this connection holds the write lock
        assert client.get("/health").status_code == 503
    holder.dispose()
    assert client.get("/health").status_code == 200


def test_database_errors_that_are_not_outages(engine: Engine) -> None:
    """A clash is a Conflict, a refused value Invalid, whatever the database."""
    insert = text("INSERT INTO organisation (id, name, kind) VALUES (:id, :name, 'organisation')")
    with transaction(engine) as session:
        session.execute(insert, {"id": "VTC", "name": "VTC"})
    with pytest.raises(Conflict), transaction(engine) as session:
        session.execute(insert, {"id": "VTC", "name": "again"})
    with pytest.raises(Conflict), transaction(engine) as session:  # a foreign key to nowhere
        session.execute(text("INSERT INTO organisation_membership (member_id, group_id) VALUES ('VTC', 'NONE')"))
    if engine.dialect.name == "postgresql":  # SQLite keeps any text; PostgreSQL refuses these
        for value in ("with \x00 inside", "x" * 65):
            with pytest.raises(Invalid), transaction(engine) as session:
                session.execute(insert, {"id": value, "name": "n"})


def test_a_status_change_may_not_lie_in_the_future(seeded: Engine, run_cli: object) -> None:
    result = run_cli("suspend", SEED_ID, "--on", "9999-12-31", "--reason", "later")  # type: ignore[operator]
    assert result.exit_code == 2
    assert "on: 9999-12-31 is in the future" in result.stderr
    later = run_cli("suspend", SEED_ID, "--on", "2019-01-01", "--reason", "incident")  # type: ignore[operator]
    assert later.exit_code == 0, later.output  # nothing was locked by the refused one


def test_health_is_503_without_a_usable_key(seeded: Engine, database_url: str, tmp_path: Path) -> None:
    """Decisions cannot be logged without the key, so the server is not healthy either."""
    settings = {"DATABASE_URL": database_url, "TESTING": True, "SUBJECT_KEY_FILE": str(tmp_path / "none.key")}
    app = create_app({**settings, "SUBJECT_KEY": None})
    try:
        assert app.test_client().get("/health").status_code == 503
    finally:
        app.extensions["authreg.engine"].dispose()


@pytest.mark.parametrize(
    ("name", "value"),
    [("AUTHREG_CHECKPOINT_EVERY", "0"), ("AUTHREG_CHECKPOINT_SECONDS", "-1"), ("AUTHREG_DUE_SOON_DAYS", "soon")],
)
def test_bad_settings_refuse_to_start(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(RegistryError, match=name):
        create_app({"TESTING": True})


@pytest.mark.parametrize(
    ("lost", "says"),
    [("registry_identity", "no registry identity"), ("audit_head", "no audit log head")],
)
def test_a_decision_is_not_logged_where_the_registry_is_gone(seeded: Engine, lost: str, says: str) -> None:
    """The audit head's update checks the registry in the same statement: a database that lost
    its identity (or its head) answers nothing and is left as it was."""
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    with transaction(seeded) as session:
        session.execute(text(f"DELETE FROM {lost}"))
    with pytest.raises(Unavailable, match=says):
        service.ask(load_request(ASK), asked_by="case-app", now=datetime(2026, 11, 30, tzinfo=UTC))
    with seeded.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 0
