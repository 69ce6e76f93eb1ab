"""Wrong allows found by trying to break the registry, each held shut here: a flow's key given as
the category, purpose or kind of person, a replacement that running servers did not see, and a
change by another process hidden by a write of one's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from authreg.app import create_app
from authreg.domain.clock import Clock, utcnow
from authreg.domain.documents import parse
from authreg.domain.requests import load_request
from authreg.services import record_facts
from authreg.services.decision_service import DecisionService
from tests.conftest import SEED_ASK, SEED_ID, TEST_SECRET, write_yaml

FLOW = f"{SEED_ID}/aii-to-esf"
ASK = {**SEED_ASK, "at": "2018-06-01"}


@pytest.mark.parametrize(
    "change",
    [
        {"purpose": FLOW},
        {"data_category": FLOW},
        {"purpose": FLOW, "data_category": FLOW},
        {"subject_kind": FLOW},
        {"subject_kind": "naam"},  # a category is no kind of person
        {"subject_kind": "amif-eligibility"},
    ],
    ids=["purpose", "category", "both", "kind", "category as kind", "purpose as kind"],
)
def test_a_flows_key_is_no_category_purpose_or_kind_of_person(seeded: Engine, change: dict[str, str]) -> None:
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    assert service.ask(load_request(ASK), asked_by="t", now=utcnow())["decision"] == "allow"
    assert service.ask(load_request({**ASK, **change}), asked_by="t", now=utcnow())["decision"] == "deny"


@pytest.fixture
def servers(seeded: Engine, database_url: str, tmp_path: Path) -> Iterator[list[Flask]]:
    """Two servers on one database, as two gunicorn workers or two hosts are."""
    apps = [
        create_app(
            {
                "DATABASE_URL": database_url,
                "TESTING": True,
                "SUBJECT_KEY": TEST_SECRET,
                "SYNC_SECONDS": 0,
                "CHECKPOINT_DIR": str(tmp_path / f"checkpoints-{index}"),
                "SIGNING_KEY_FILE": str(tmp_path / "signing.key"),
            }
        )
        for index in range(2)
    ]
    yield apps
    for app in apps:
        app.extensions["authreg.engine"].dispose()


def test_a_replacement_is_seen_by_every_server_at_once(
    servers: list[Flask], bearer: dict[str, dict[str, str]], seed_document: dict[str, Any]
) -> None:
    """Whether an authorisation is replaced is compiled into its own lines: the replacer's write
    must recompile the replaced one too, here and in every other server."""
    clients = [app.test_client() for app in servers]
    for client in clients:  # both have loaded the registry before the change
        answer = client.post("/api/v1/decisions", json=ASK, headers=bearer["application"]).get_json()
        assert (answer["decision"], answer["authorisation"]) == ("allow", SEED_ID)
    replacer = json.loads(json.dumps(parse(seed_document, "seed").canonical()))
    replacer.update(id="vtc-2018-replacer", replaces=[SEED_ID], valid_from="2018-01-01", status="revoked")
    created = clients[0].post("/api/v1/authorisations", json=replacer, headers=bearer["privacy-officer"])
    assert created.status_code == 201, created.get_json()
    for client in clients:
        answer = client.post("/api/v1/decisions", json=ASK, headers=bearer["application"]).get_json()
        assert answer["decision"] == "deny", answer
        assert "authorisation-replaced" in [reason["code"] for reason in answer["reasons"]] or (
            answer["authorisation"] == "vtc-2018-replacer"
        )


def test_a_write_here_does_not_hide_a_revocation_made_elsewhere(
    seeded: Engine, run_cli: Any, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    """Found by the adversarial test of issue 9: a server refreshed after its own write to
    another authorisation, took the log's newest version as its own, and so never reloaded a
    revocation another process had committed just before: it allowed on for good."""
    other = {**seed_document, "id": "vtc-other", "reference": "een andere beraadslaging"}
    assert run_cli("apply", str(write_yaml(tmp_path, "other.yaml", other))).exit_code == 0
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    assert service.ask(load_request(ASK), asked_by="t", now=utcnow())["decision"] == "allow"
    assert run_cli("revoke", SEED_ID, "--on", "2018-06-01", "--reason", "elders beslist").exit_code == 0  # elsewhere
    with service.changing():  # this server's own write (to vtc-other), before its next sync
        record_facts.record_declaration(
            seeded,
            authorisation="vtc-other",
            user="esf-controller-1",
            signed_on=date(2017, 10, 3),
            actor="dpo",
            clock=Clock.current("Europe/Brussels"),
        )
    answer = service.ask(load_request(ASK), asked_by="t", now=utcnow())
    assert answer["decision"] == "deny" and "authorisation-revoked" in [r["code"] for r in answer["reasons"]]
    assert service.sync() is False  # and nothing is left to catch up with
