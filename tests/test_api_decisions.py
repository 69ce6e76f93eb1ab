"""The HTTP API for decisions through the real WSGI app: tokens, roles, problem+json errors,
the decision JSON of ``authreg check``, and the audit entry with the token's name."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from authreg.app import create_app
from authreg.domain.clock import utcnow
from authreg.services import tokens
from authreg.storage.models import AuditEntry
from tests.conftest import SEED_ASK as ASK
from tests.conftest import SEED_ID, TEST_SECRET, sqlite_only


def post(client: FlaskClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(path, json=body, headers=headers)


def test_an_application_asks_and_the_answer_is_logged_with_its_token_name(
    api: Flask, bearer: dict[str, dict[str, str]], seeded: Engine
) -> None:
    response = post(api.test_client(), "/api/v1/decisions", {**ASK, "at": "2018-01-01"}, bearer["application"])
    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["decision"], answer["authorisation"], answer["flow"]) == ("allow", SEED_ID, "aii-to-esf")
    assert set(answer) == {"decision", "authorisation", "flow", "reasons", "warnings", "obligations", "decision_id"}
    with Session(seeded) as session:
        entry = session.exec(select(AuditEntry)).one()
    assert (entry.decision_id, entry.asked_by) == (answer["decision_id"], "application-token")


def test_a_batch_is_answered_in_order(api: Flask, bearer: dict[str, dict[str, str]]) -> None:
    asked = [{**ASK, "at": "2018-01-01"}, {**ASK, "at": "2024-01-01"}, {**ASK, "organisation": "HBPLUS"}]
    response = post(api.test_client(), "/api/v1/decisions/batch", {"requests": asked}, bearer["application"])
    assert response.status_code == 200
    assert [(d["decision"], [r["code"] for r in d["reasons"]]) for d in response.get_json()["decisions"]] == [
        ("allow", ["allowed"]),
        ("deny", ["expired"]),
        ("deny", ["processor-no-data-access"]),
    ]


@sqlite_only
@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"organisation": "WSE-ESF", "data_category": "naam", "purpose": "p"}, "user", "required"),
        ({**ASK, "at": "yesterday"}, "at", "not an ISO 8601 date or datetime: 'yesterday'"),
        ({**ASK, "data_subject": "85073003329"}, "data_subject", "not an INSZ: the check digits do not match"),
        ({**ASK, "colour": "blue"}, "colour", "unknown key"),
        ({**ASK, "user": 7}, "user", "not a text"),
    ],
)
def test_malformed_requests_are_422_problems_naming_the_field(
    api: Flask, bearer: dict[str, dict[str, str]], body: dict[str, Any], path: str, message: str
) -> None:
    response = post(api.test_client(), "/api/v1/decisions", body, bearer["application"])
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert (problem["status"], problem["title"]) == (422, "Unprocessable Content")
    assert {"path": path, "message": message} in problem["errors"]


@sqlite_only
def test_batch_limits(api: Flask, bearer: dict[str, dict[str, str]]) -> None:
    client = api.test_client()
    too_many = post(client, "/api/v1/decisions/batch", {"requests": [ASK] * 1001}, bearer["application"])
    assert too_many.status_code == 422
    empty = post(client, "/api/v1/decisions/batch", {"requests": []}, bearer["application"])
    assert empty.status_code == 422


@sqlite_only
def test_a_body_over_the_limit_is_413(api: Flask, bearer: dict[str, dict[str, str]]) -> None:
    huge = {"requests": [{**ASK, "user": "x" * 1000}] * 1100}
    response = post(api.test_client(), "/api/v1/decisions/batch", huge, bearer["application"])
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
    ],
)
def test_without_a_good_token_401(api: Flask, headers: dict[str, str], status: int) -> None:
    response = post(api.test_client(), "/api/v1/decisions", ASK, headers)
    assert response.status_code == status
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="authreg"'
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("role", ["privacy-officer", "manager", "auditor"])
def test_only_applications_may_ask(api: Flask, bearer: dict[str, dict[str, str]], role: str) -> None:
    response = post(api.test_client(), "/api/v1/decisions", ASK, bearer[role])
    assert response.status_code == 403
    assert response.get_json()["detail"] == f"role {role} may not POST /api/v1/decisions"


def test_a_revoked_token_is_refused(api: Flask, seeded: Engine) -> None:
    token = tokens.create(seeded, name="old-app", role="application", now=utcnow())
    tokens.revoke(seeded, name="old-app", now=utcnow())
    response = post(api.test_client(), "/api/v1/decisions", ASK, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_a_token_revoked_while_in_use_is_refused_by_every_server_within_the_sync_time(
    seeded: Engine, database_url: str, outside: dict[str, str]
) -> None:
    """Two servers on one database keep the token they have seen, with its role, for
    ``SYNC_SECONDS``: revoked meanwhile, it is refused by both once that has passed, never later."""
    servers = [
        create_app(
            {"DATABASE_URL": database_url, "SUBJECT_KEY": TEST_SECRET, "SYNC_SECONDS": 0.3, "TESTING": True, **outside}
        )
        for _ in range(2)
    ]
    token = tokens.create(seeded, name="busy-app", role="application", now=utcnow())
    headers = {"Authorization": f"Bearer {token}"}
    for server in servers:
        assert post(server.test_client(), "/api/v1/decisions", ASK, headers).status_code == 200
    tokens.revoke(seeded, name="busy-app", now=utcnow())
    time.sleep(0.3)
    for server in servers:
        assert post(server.test_client(), "/api/v1/decisions", ASK, headers).status_code == 401
        server.extensions["authreg.engine"].dispose()


def test_the_token_cache_trusts_a_token_for_its_time_only(seeded: Engine) -> None:
    now = [100.0]
    cache = tokens.TokenCache(seeded, ttl=0.5, size=2, clock=lambda: now[0])
    token = tokens.create(seeded, name="cached-app", role="application", now=utcnow())
    assert cache.caller(token) == tokens.Caller("cached-app", "application")
    tokens.revoke(seeded, name="cached-app", now=utcnow())
    now[0] += 0.49
    assert cache.caller(token) is not None  # within the time it is trusted for
    now[0] += 0.01
    assert cache.caller(token) is None  # read again: revoked
    assert cache.caller("no such token") is None and cache.caller(token) is None
    others = [tokens.create(seeded, name=f"app-{i}", role="application", now=utcnow()) for i in range(3)]
    for other in others:
        assert cache.caller(other) is not None
    assert len(cache._known) == 2  # the least recently used dropped


@sqlite_only
def test_the_openapi_document_is_served_and_lists_the_endpoints(api: Flask) -> None:
    document = api.test_client().get("/api/v1/openapi.json").get_json()
    assert document["info"]["title"] == "authreg"
    assert set(document["paths"]) == {
        "/api/v1/decisions",
        "/api/v1/decisions/batch",
        "/api/v1/authorisations",
        "/api/v1/authorisations/{authorisation_id}",
        "/api/v1/authorisations/{authorisation_id}/history",
        "/api/v1/authorisations/{authorisation_id}/{kind}",
        "/api/v1/conditions",
        "/api/v1/conditions.ics",
        "/api/v1/authorisations/{authorisation_id}/conditions/{condition_id}/fulfilments",
        "/api/v1/authorisations/{authorisation_id}/samples",
        "/api/v1/authorisations/{authorisation_id}/samples/{sample_id}/subjects",
        "/api/v1/authorisations/{authorisation_id}/samples/{sample_id}/communications",
        "/api/v1/authorisations/{authorisation_id}/users/{user_id}/declarations",
        "/api/v1/authorisations/{authorisation_id}/events",
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/audit/checkpoint",
        "/api/v1/public/register",
        "/api/v1/public/register.csv",
        "/api/v1/access",
        "/api/v1/impact",
    }


@sqlite_only
def test_unknown_paths_are_problems_too(api: Flask, bearer: dict[str, dict[str, str]]) -> None:
    response = api.test_client().get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
