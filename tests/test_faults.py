"""Database faults in the middle of a write (issue 8): the driver itself fails one statement of
apply, a decision's audit append, a fulfilment, a sample or a status change. Nothing of the
write may remain, the caller is told (CLI exit 1, HTTP 503 problem+json), and no decision is
answered, least of all an allow, without its entry in the audit log.

The fault is real: a ``before_cursor_execute`` listener on every engine raises the driver's own
``OperationalError`` instead of sending the chosen statement, so SQLAlchemy, ``sessions.transaction``
and the edges see exactly what a dropped connection or a full disk would give them. The audit
append runs on the driver's own connection (``storage/plain_writes.py``), out of SQLAlchemy's
sight: there the database itself refuses the statement, by a trigger (``tests/triggers.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from authreg.domain.documents import parse
from tests.conftest import SEED_ASK, SEED_ID, check_args, dump_tables, write_yaml
from tests.triggers import AUDIT_FAULTS, refusal_text

INSZ = "85.07.30-033.28"
ASK = {**SEED_ASK, "at": "2018-01-01"}
CHECK = (*check_args(ASK), "--format", "json")


@contextmanager
def failing(statement: str, *, after: int = 0) -> Iterator[list[str]]:
    """While open, the driver refuses the statement that starts with ``statement`` (ignoring the
    first ``after`` of them) on every engine; yields the statements it refused."""
    seen: list[str] = []
    refused: list[str] = []

    def fault(connection: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith(statement.upper()):
            seen.append(sql)
            if len(seen) > after:
                refused.append(sql)
                raise connection.dialect.loaded_dbapi.OperationalError(f"injected fault before {statement}")

    event.listen(Engine, "before_cursor_execute", fault)
    try:
        yield refused
    finally:
        event.remove(Engine, "before_cursor_execute", fault)


def _changed_seed(seed_document: dict[str, Any], tmp_path: Path) -> Path:
    seed_document["retention_until"] = "2030-12-31"
    seed_document["taxonomy"] = [{"id": "esf-dossier", "label": "ESF-dossier"}]
    return write_yaml(tmp_path, "seed.yaml", seed_document)


def _changed_taxonomy(_seed_document: dict[str, Any], tmp_path: Path) -> Path:
    return write_yaml(tmp_path, "taxonomy.yaml", {"taxonomy": [{"id": "insz", "label": "INSZ", "parent": "naam"}]})


WRITES: dict[str, tuple[Callable[[dict[str, Any], Path], list[str]], str]] = {
    # a new version: the authorisation row is updated and its parts deleted before these fail
    "apply, version": (lambda doc, tmp: ["apply", str(_changed_seed(doc, tmp))], "INSERT INTO authorisation_version"),
    "apply, flows": (lambda doc, tmp: ["apply", str(_changed_seed(doc, tmp))], "INSERT INTO flow_category"),
    "apply, counted last": (lambda doc, tmp: ["apply", str(_changed_seed(doc, tmp))], "INSERT INTO registry_change"),
    "apply, taxonomy": (lambda doc, tmp: ["apply", str(_changed_taxonomy(doc, tmp))], "INSERT INTO registry_change"),
    "fulfil": (
        lambda doc, tmp: ["fulfil", SEED_ID, "security-plan", "--on", "2018-01-15", "--evidence", "brief"],
        "INSERT INTO registry_change",
    ),
    "fulfil, the row": (
        lambda doc, tmp: ["fulfil", SEED_ID, "security-plan", "--on", "2018-01-15", "--evidence", "brief"],
        "INSERT INTO condition_fulfilment",
    ),
    "sample, its persons": (
        lambda doc, tmp: ["sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-01", INSZ],
        "INSERT INTO sample_subject",
    ),
    "sample, counted last": (
        lambda doc, tmp: ["sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-01", INSZ],
        "INSERT INTO registry_change",
    ),
    "suspend": (
        lambda doc, tmp: ["suspend", SEED_ID, "--on", "2019-01-01", "--reason", "incident"],
        "INSERT INTO authorisation_version",
    ),
}


def _in_use(run_cli: Callable[..., Any]) -> None:
    """A registry in use: the first decision records the secret key's fingerprint (outside any
    write under test) and begins the log."""
    assert json.loads(run_cli(*CHECK).stdout)["decision"] == "allow"


@pytest.mark.parametrize("case", WRITES, ids=list(WRITES))
def test_a_write_that_fails_midway_leaves_nothing_and_exits_1(
    case: str, seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    arguments, statement = WRITES[case]
    args = arguments(seed_document, tmp_path)
    _in_use(run_cli)
    before = dump_tables(seeded)

    with failing(statement) as refused:
        result = run_cli(*args)

    assert refused, f"{statement} was never executed"
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database: OperationalError: ")
    assert f"injected fault before {statement}" in result.stderr
    assert dump_tables(seeded) == before
    assert run_cli(*args).exit_code == 0  # the same write goes through once the database is back


@pytest.mark.parametrize("statement", AUDIT_FAULTS)
def test_an_allow_whose_audit_entry_cannot_be_written_is_not_answered(
    statement: str, seeded: Engine, run_cli: Callable[..., Any]
) -> None:
    _in_use(run_cli)
    before = dump_tables(seeded)

    with AUDIT_FAULTS[statement](seeded, f"injected fault in {statement}"):
        result = run_cli(*CHECK)

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("error: the write could not be made: ")
    assert refusal_text(seeded, statement, f"injected fault in {statement}") in result.stderr
    assert dump_tables(seeded) == before
    again = run_cli(*CHECK)
    assert (again.exit_code, json.loads(again.stdout)["decision"]) == (0, "allow")
    assert len(dump_tables(seeded)["audit_entry"]) == len(before["audit_entry"]) + 1


@pytest.fixture
def http(api: Flask) -> FlaskClient:
    return api.test_client()


def _is_outage(response: Any) -> bool:
    """503 problem+json, and no decision in it."""
    body = response.get_json()
    return (
        (response.status_code, response.mimetype, body["status"]) == (503, "application/problem+json", 503)
        and "decision" not in body
        and "decisions" not in body
    )


@pytest.mark.parametrize(
    ("path", "body", "statement"),
    [
        ("/api/v1/decisions", ASK, "entry"),
        # a batch's entries go in together; the head's hash is written after them
        ("/api/v1/decisions/batch", {"requests": [ASK, ASK]}, "head-after-entry"),
        ("/api/v1/decisions", ASK, "commit"),
    ],
    ids=["single", "batch", "single, at commit"],
)
def test_over_http_an_unlogged_decision_is_503_and_never_an_allow(
    path: str,
    body: dict[str, Any],
    statement: str,
    seeded: Engine,
    http: FlaskClient,
    bearer: dict[str, dict[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = bearer["application"]
    assert http.post(path, json=body, headers=headers).status_code == 200
    before = dump_tables(seeded)

    with AUDIT_FAULTS[statement](seeded, "injected fault"):
        response = http.post(path, json=body, headers=headers)

    assert refusal_text(seeded, statement, "injected fault") in caplog.text  # the server's log says why
    assert _is_outage(response), response.get_json()
    assert dump_tables(seeded) == before
    answered = http.post(path, json=body, headers=headers)
    assert answered.status_code == 200
    decisions = answered.get_json()["decisions"] if "decisions" in answered.get_json() else [answered.get_json()]
    assert {d["decision"] for d in decisions} == {"allow"}
    assert http.get("/api/v1/audit/verify", headers=bearer["auditor"]).get_json()["intact"] is True


@pytest.mark.parametrize(
    ("method", "path", "body", "statement"),
    [
        (
            "post",
            f"/api/v1/authorisations/{SEED_ID}/conditions/security-plan/fulfilments",
            {"fulfilled_on": "2018-01-15", "evidence": "brief"},
            "INSERT INTO registry_change",
        ),
        (
            "post",
            f"/api/v1/authorisations/{SEED_ID}/samples",
            {"id": "s1", "drawn_on": "2018-03-01", "subjects": [INSZ]},
            "INSERT INTO sample_subject",
        ),
        (
            "post",
            f"/api/v1/authorisations/{SEED_ID}/suspend",
            {"on": "2019-01-01", "reason": "incident"},
            "INSERT INTO status_change",
        ),
    ],
    ids=["fulfilment", "sample", "suspend"],
)
def test_over_http_a_write_that_fails_midway_is_503_and_leaves_nothing(
    method: str,
    path: str,
    body: dict[str, Any],
    statement: str,
    seeded: Engine,
    http: FlaskClient,
    bearer: dict[str, dict[str, str]],
) -> None:
    before = dump_tables(seeded)
    with failing(statement) as refused:
        response = getattr(http, method)(path, json=body, headers=bearer["privacy-officer"])
    assert refused
    assert _is_outage(response), response.get_json()
    assert dump_tables(seeded) == before
    assert getattr(http, method)(path, json=body, headers=bearer["privacy-officer"]).status_code in (200, 201)


def test_over_http_a_new_version_that_fails_midway_is_503_and_the_old_one_stays(
    seeded: Engine, http: FlaskClient, bearer: dict[str, dict[str, str]], seed_document: dict[str, Any]
) -> None:
    body = parse(seed_document, "seed").canonical()
    body["retention_until"] = "2030-12-31"
    headers = {**bearer["privacy-officer"], "If-Match": '"1"'}
    before = dump_tables(seeded)
    with failing("INSERT INTO flow_category") as refused:
        response = http.put(f"/api/v1/authorisations/{SEED_ID}", json=body, headers=headers)
    assert refused
    assert _is_outage(response), response.get_json()
    assert dump_tables(seeded) == before
    assert http.get(f"/api/v1/authorisations/{SEED_ID}", headers=bearer["privacy-officer"]).headers["ETag"] == '"1"'
    assert http.put(f"/api/v1/authorisations/{SEED_ID}", json=body, headers=headers).status_code == 200
