"""``/api/v1/authorisations`` through the real WSGI app: list with filters, create, read with
ETag, replace with If-Match, history, and the life-cycle changes; decisions follow at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from authreg.domain.clock import utcnow
from authreg.domain.documents import parse
from authreg.services import tokens
from tests.conftest import SEED_ASK as ASK
from tests.conftest import SEED_ID


@pytest.fixture
def client(api: Flask) -> FlaskClient:
    return api.test_client()


@pytest.fixture
def officer(seeded: Engine) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.create(seeded, name='dpo', role='privacy-officer', now=utcnow())}"}


@pytest.fixture
def app_token(seeded: Engine) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.create(seeded, name='case-app', role='application', now=utcnow())}"}


def as_json(seed_document: dict[str, Any]) -> dict[str, Any]:
    """The seed as an API client sends it: the canonical JSON document."""
    return json.loads(json.dumps(parse(seed_document, "seed").canonical()))


def test_list_and_filters(client: FlaskClient, officer: dict[str, str]) -> None:
    listed = client.get("/api/v1/authorisations", headers=officer).get_json()["authorisations"]
    assert [(a["id"], a["status"]) for a in listed] == [(SEED_ID, "active")]
    assert client.get("/api/v1/authorisations?in_force_at=2024-01-01", headers=officer).get_json() == {
        "authorisations": []
    }
    in_force = client.get("/api/v1/authorisations?in_force_at=2018-01-01", headers=officer).get_json()
    assert [a["state"] for a in in_force["authorisations"]] == ["in-force"]
    assert client.get("/api/v1/authorisations?organisation=HBPLUS", headers=officer).get_json()["authorisations"]
    assert client.get("/api/v1/authorisations?organisation=VDAB", headers=officer).get_json() == {"authorisations": []}
    assert client.get("/api/v1/authorisations?status=revoked", headers=officer).get_json() == {"authorisations": []}
    bad = client.get("/api/v1/authorisations?in_force_at=soon", headers=officer)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["path"] == "in_force_at"


def test_read_with_etag_and_404(client: FlaskClient, officer: dict[str, str]) -> None:
    response = client.get(f"/api/v1/authorisations/{SEED_ID}", headers=officer)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.get_json()["flows"][0]["from"] == "AII"
    missing = client.get("/api/v1/authorisations/nope", headers=officer)
    assert (missing.status_code, missing.get_json()["detail"]) == (404, "no authorisation 'nope'")


def test_create_then_conflict(client: FlaskClient, officer: dict[str, str], seed_document: dict[str, Any]) -> None:
    body = as_json(seed_document)
    body["id"] = "vtc-2018-amif-bis"
    created = client.post("/api/v1/authorisations", json=body, headers=officer)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"] == "/api/v1/authorisations/vtc-2018-amif-bis"
    assert created.get_json()["status"] == "created"
    again = client.post("/api/v1/authorisations", json=body, headers=officer)
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"


def test_an_invalid_document_is_422_with_field_paths(
    client: FlaskClient, officer: dict[str, str], seed_document: dict[str, Any]
) -> None:
    body = as_json(seed_document)
    body["conditions"][0]["due_on"] = "2017-11-31"
    body["shape"] = "odd"
    response = client.post("/api/v1/authorisations", json=body, headers=officer)
    assert response.status_code == 422
    errors = {(e["path"], e["message"]) for e in response.get_json()["errors"]}
    assert ("conditions[0].due_on", "not a date") in errors
    assert ("shape", "unknown key") in errors


def test_replace_needs_the_current_version(
    client: FlaskClient, officer: dict[str, str], seed_document: dict[str, Any]
) -> None:
    body = as_json(seed_document)
    body["retention_until"] = "2030-12-31"
    path = f"/api/v1/authorisations/{SEED_ID}"
    assert client.put(path, json=body, headers=officer).status_code == 422  # no If-Match
    stale = client.put(path, json=body, headers={**officer, "If-Match": '"7"'})
    assert stale.status_code == 409 and "version 1, not 7" in stale.get_json()["detail"]
    replaced = client.put(path, json=body, headers={**officer, "If-Match": '"1"'})
    assert replaced.status_code == 200
    assert (replaced.get_json()["status"], replaced.headers["ETag"]) == ("changed", '"2"')
    other = client.put("/api/v1/authorisations/other", json=body, headers={**officer, "If-Match": '"2"'})
    assert other.status_code == 422 and other.get_json()["errors"][0]["path"] == "id"


def test_suspension_is_decided_on_at_once_and_in_the_history(
    client: FlaskClient, officer: dict[str, str], app_token: dict[str, str]
) -> None:
    assert (
        client.post("/api/v1/decisions", json={**ASK, "at": "2019-06-01"}, headers=app_token).get_json()["decision"]
        == "allow"
    )
    suspended = client.post(
        f"/api/v1/authorisations/{SEED_ID}/suspend", json={"on": "2019-01-01", "reason": "incident"}, headers=officer
    )
    assert suspended.status_code == 200
    assert suspended.get_json() == {"id": SEED_ID, "status": "suspended", "version": 2, "on": "2019-01-01"}
    answer = client.post("/api/v1/decisions", json={**ASK, "at": "2019-06-01"}, headers=app_token).get_json()
    assert [r["code"] for r in answer["reasons"]] == ["authorisation-suspended"]
    history = client.get(f"/api/v1/authorisations/{SEED_ID}/history", headers=officer).get_json()
    assert [(v["version"], v["created_by"]) for v in history["versions"]] == [(1, "test"), (2, "dpo")]
    assert history["status_changes"] == [{"kind": "suspend", "on": "2019-01-01", "reason": "incident"}]
    wrong = client.post(
        f"/api/v1/authorisations/{SEED_ID}/suspend", json={"on": "2019-02-01", "reason": "x"}, headers=officer
    )
    assert wrong.status_code == 409
    missing = client.post(f"/api/v1/authorisations/{SEED_ID}/revoke", json={"reason": "x"}, headers=officer)
    assert missing.status_code == 422 and missing.get_json()["errors"] == [{"path": "on", "message": "required"}]
