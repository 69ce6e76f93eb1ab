"""One shape per answer (issue 10): every endpoint of the API declares its response schema, so
the OpenAPI document describes it and schemathesis checks it, and the CLI's ``--format json``
gives what the API gives for the same question."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from marshmallow import Schema
from sqlalchemy import Engine

from authreg.domain.clock import utcnow
from authreg.domain.requests import load_request
from authreg.services.answers import (
    AuthorisationSummarySchema,
    BatchAnswerSchema,
    ConditionStateSchema,
    DecisionSchema,
)
from authreg.services.decision_service import DecisionService
from authreg.services.reports import authorisation_summaries, condition_states
from tests.conftest import SEED_ASK, TEST_SECRET, check_args

Headers = dict[str, dict[str, str]]
# the answers that are not JSON: the iCalendar feed, the public register's CSV
NOT_JSON = {("get", "/api/v1/conditions.ics"), ("get", "/api/v1/public/register.csv")}


def test_every_operation_declares_the_schema_of_its_answer(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").json
    undeclared = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters" or (method, path) in NOT_JSON:
                continue
            success = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
            if not success or not all(
                "schema" in a.get("content", {}).get("application/json", {}) for a in success.values()
            ):
                undeclared.append(f"{method.upper()} {path}")
    assert undeclared == []
    assert len(document["paths"]) >= 15


def test_the_schemas_drop_nothing_the_services_answer(seeded: Engine) -> None:
    """A schema dumps only the keys it declares: a key a service adds and its schema lacks would
    vanish from the API and the CLI alike, so the schemas are held against the services here."""
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    answers = [
        service.ask(load_request({**SEED_ASK, "at": day}), asked_by="test", now=utcnow())
        for day in ("2017-10-02", "2018-03-05", "2024-01-01")
    ]
    assert {answer["decision"] for answer in answers} == {"allow", "deny"}
    for answer in answers:  # passed through as they are, so held against marshmallow's own dump
        assert DecisionSchema().dump(answer) is answer
        assert Schema.dump(DecisionSchema(), answer) == answer
    assert BatchAnswerSchema().dump({"decisions": answers}) == {"decisions": answers}
    assert [Schema.dump(DecisionSchema(), answer) for answer in answers] == answers  # a batch's, item by item
    summaries = [s.as_dict() for s in authorisation_summaries(seeded, at=date(2018, 3, 5))]
    assert AuthorisationSummarySchema(many=True).dump(summaries) == summaries
    states = [s.as_dict() for s in condition_states(seeded, at=date(2017, 12, 1), window_days=30)]
    assert ConditionStateSchema(many=True).dump(states) == states and len(states) >= 8


def test_the_cli_answers_in_the_shape_of_the_api(
    client: FlaskClient, bearer: Headers, run_cli: Callable[..., Any]
) -> None:
    asked = {**SEED_ASK, "at": "2018-03-05"}
    over_http = client.post("/api/v1/decisions", json=asked, headers=bearer["application"]).json
    in_terminal = json.loads(run_cli(*check_args(asked), "--format", "json").stdout)
    assert in_terminal.keys() == over_http.keys()
    assert {**in_terminal, "decision_id": ""} == {**over_http, "decision_id": ""}

    listed = client.get("/api/v1/authorisations?in_force_at=2018-03-05", headers=bearer["manager"]).json
    assert json.loads(run_cli("list", "--at", "2018-03-05", "--format", "json").stdout) == listed["authorisations"]

    states = client.get("/api/v1/conditions?at=2017-12-01", headers=bearer["manager"]).json
    cli_states = json.loads(run_cli("conditions", "--at", "2017-12-01", "--format", "json").stdout)
    assert cli_states == states["conditions"] and len(cli_states) >= 8

    stored = client.get("/api/v1/authorisations/vtc-2017-amif-aii-wse", headers=bearer["manager"]).json
    assert json.loads(run_cli("show", "vtc-2017-amif-aii-wse", "--format", "json").stdout) == stored
