"""The audit log is a hash chain: an edited, a deleted and a reordered entry are found, and
the exports give security consultants what they need."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from authreg.domain.requests import load_request
from authreg.services.decision_service import DecisionService
from tests.conftest import SEED_ASK as ASK
from tests.conftest import TEST_SECRET

Cli = Callable[..., Any]
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def logged(seeded: Engine) -> Engine:
    """Five decisions in the log: allowed, expired, outside a sample, no declaration, unknown."""
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    service.ask_many(
        [
            load_request(r)
            for r in [
                {**ASK, "at": "2018-01-01"},
                {**ASK, "at": "2024-01-01"},
                {**ASK, "at": "2018-01-01", "data_subject": "85073003328"},
                {**ASK, "at": "2017-10-01"},
                {**ASK, "organisation": "NOBODY"},
            ]
        ],
        asked_by="case-app",
        now=NOW,
    )
    return seeded


def _sql(engine: Engine, statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements.split(";"):
            connection.execute(text(statement))


def test_an_intact_log_verifies(logged: Engine, run_cli: Cli) -> None:
    result = run_cli("audit", "verify")
    assert (result.exit_code, result.stdout.splitlines()[0]) == (0, "audit log intact: 5 entries, MACs checked")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("UPDATE audit_entry SET decision = 'allow' WHERE seq = 2", "audit log broken at entry 2: entry 2 was altered"),
        (
            "UPDATE audit_entry SET asked_by = 'someone else' WHERE seq = 4",
            "audit log broken at entry 4: entry 4 was altered",
        ),
        ("DELETE FROM audit_entry WHERE seq = 3", "audit log broken at entry 3: entry 3 is missing (next is 4)"),
        (
            "DELETE FROM audit_entry WHERE seq = 5",
            "audit log broken at entry 5: entries 5 to 5 are missing from the end",
        ),
        (
            "UPDATE audit_entry SET seq = 100 WHERE seq = 2; UPDATE audit_entry SET seq = 2 WHERE seq = 3;"
            "UPDATE audit_entry SET seq = 3 WHERE seq = 100",
            "audit log broken at entry 2: entry 2 does not follow entry 1",
        ),
    ],
    ids=["edited verdict", "edited asker", "deleted", "deleted last", "reordered"],
)
def test_tampering_is_found_and_named(logged: Engine, run_cli: Cli, tamper: str, message: str) -> None:
    _sql(logged, tamper)
    result = run_cli("audit", "verify")
    assert result.exit_code == 1
    assert result.stderr == message + "\n"


def test_export_jsonl_and_csv(logged: Engine, run_cli: Cli) -> None:
    lines = run_cli("audit", "export", "--from", "2026-11-29", "--to", "2026-11-29").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[1]["reasons"][0]["code"] == "expired"
    assert records[0]["previous_hash"] == "0" * 64 and records[1]["previous_hash"] == records[0]["entry_hash"]
    assert run_cli("audit", "export", "--from", "2026-11-30").stdout == ""
    rows = list(csv.DictReader(io.StringIO(run_cli("audit", "export", "--format", "csv").stdout)))
    assert [(row["seq"], row["decision"], row["reasons"]) for row in rows][:2] == [
        ("1", "allow", "allowed"),
        ("2", "deny", "expired"),
    ]


def test_report_lists_what_a_security_consultant_should_look_at(logged: Engine, run_cli: Cli) -> None:
    records = [json.loads(line) for line in run_cli("audit", "report", "--format", "jsonl").stdout.splitlines()]
    assert [(r["seq"], [c["code"] for c in r["reasons"]]) for r in records] == [
        (2, ["expired"]),
        (3, ["subject-not-in-communicated-sample"]),
        (4, ["declaration-missing", "subject-not-in-communicated-sample"]),
    ]
    table = run_cli("audit", "report").stdout.splitlines()
    assert table[0].split() == ["seq", "asked_at", "user", "organisation", "decision", "reasons", "subject"]
    assert len(table) == 4


def test_appenders_in_parallel_form_one_chain(logged: Engine, run_cli: Cli) -> None:
    services = [DecisionService.load(logged, timezone="Europe/Brussels", secret=TEST_SECRET) for _ in range(4)]

    def ask_many(service: DecisionService) -> None:
        for _ in range(10):
            service.ask(load_request({**ASK, "at": "2018-01-01"}), asked_by="parallel", now=NOW)

    threads = [threading.Thread(target=ask_many, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert run_cli("audit", "verify").stdout.splitlines()[0] == "audit log intact: 45 entries, MACs checked"
