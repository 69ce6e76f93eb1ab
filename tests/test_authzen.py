"""The AuthZEN Authorization API 1.0 endpoints (issue 12): asked by ``decern``, an AuthZEN client
this project did not write, against a real server, and through the WSGI app for the batch
semantics, the defaults, malformed input (400, problem+json), roles and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from decern import Client, DecernError
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func
from sqlmodel import select

from authreg.storage.models import AuditEntry
from authreg.storage.sessions import reading
from tests.conftest import SEED_ASK, SEED_ID, TEST_SECRET, sqlite_only
from tests.serving import served

SUBJECT = {"type": "user", "id": SEED_ASK["user"], "properties": {"organisation": SEED_ASK["organisation"]}}
RESOURCE = {"type": "data-category", "id": "naam", "properties": {"data_subject": SEED_ASK["data_subject"]}}
CONTEXT = {"purpose": "amif-eligibility", "time": "2018-03-05"}
ALLOWED = {"subject": SUBJECT, "resource": RESOURCE, "action": {"name": "read"}, "context": CONTEXT}
DENIED = {**ALLOWED, "context": {**CONTEXT, "purpose": "marketing"}}


def logged(engine: Engine) -> int:
    with reading(engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEntry)).one())


def post(client: FlaskClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(path, json=body, headers=headers)


@sqlite_only
def test_an_authzen_client_asks_a_real_server(seeded: Engine, database_url: str, bearer: dict[str, Any]) -> None:
    token = bearer["application"]["Authorization"].removeprefix("Bearer ")
    before = logged(seeded)
    with served(database_url, AUTHREG_SECRET_KEY=TEST_SECRET) as port:
        client = Client(f"http://127.0.0.1:{port}", token=token)
        allowed = client.evaluate(SUBJECT, "read", RESOURCE, CONTEXT)
        denied = client.evaluate(SUBJECT, {"name": "read"}, RESOURCE, {**CONTEXT, "purpose": "marketing"})
        with pytest.raises(DecernError) as malformed:
            client.evaluate({"type": "user"}, "read", RESOURCE, CONTEXT)
        with pytest.raises(DecernError) as anonymous:
            Client(f"http://127.0.0.1:{port}").evaluate(SUBJECT, "read", RESOURCE, CONTEXT)
    assert allowed.allowed and allowed.context is not None
    assert allowed.context["authorisation"] == SEED_ID and allowed.context["reasons"] == ["allowed"]
    assert not denied.allowed and denied.reasons == ["purpose-not-authorised"]
    assert "reason_admin" in denied.context and "reason_user" in denied.context  # type: ignore[operator]
    assert malformed.value.status_code == 400 and "subject.id" in malformed.value.body
    assert anonymous.value.status_code == 401
    assert logged(seeded) == before + 2  # every evaluation answered is logged; the refused ones are not


def test_the_answer_carries_authregs_reasons_in_the_asked_language(api: Flask, bearer: dict[str, Any]) -> None:
    answer = post(
        api.test_client(),
        "/access/v1/evaluation",
        {**DENIED, "context": {**DENIED["context"], "language": "nl"}},
        bearer["application"],
    )
    body = answer.get_json()
    assert answer.status_code == 200 and body["decision"] is False
    context = body["context"]
    assert set(context) >= {"id", "decision_id", "reasons", "authorisation", "flow", "warnings", "obligations"}
    assert list(context["reason_admin"]) == ["nl"] and "purpose-not-authorised" in context["reason_admin"]["nl"]
    assert context["reason_user"]["nl"] and "marketing" in context["reason_user"]["nl"]


@pytest.mark.parametrize(
    ("semantic", "verdicts"),
    [
        ("execute_all", [True, False, True, False]),
        ("deny_on_first_deny", [True, False]),
        ("permit_on_first_permit", [True]),
    ],
)
def test_evaluations_follow_their_semantic_and_log_what_they_evaluate(
    api: Flask, seeded: Engine, bearer: dict[str, Any], semantic: str, verdicts: list[bool]
) -> None:
    marketing = {"context": {**CONTEXT, "purpose": "marketing"}}
    body = {
        "subject": SUBJECT,
        "action": {"name": "read"},
        "resource": RESOURCE,
        "context": CONTEXT,
        "evaluations": [{}, marketing, {"resource": {**RESOURCE, "id": "voornamen"}}, marketing],
        "options": {"evaluations_semantic": semantic},
    }
    before = logged(seeded)
    answer = post(api.test_client(), "/access/v1/evaluations", body, bearer["application"])
    assert answer.status_code == 200, answer.get_json()
    assert [one["decision"] for one in answer.get_json()["evaluations"]] == verdicts
    assert logged(seeded) == before + len(verdicts)


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/access/v1/evaluation", {**ALLOWED, "subject": {"type": "group", "id": "x"}}, "subject.type"),
        ("/access/v1/evaluation", {**ALLOWED, "resource": {"type": "data-category"}}, "resource.id"),
        ("/access/v1/evaluation", {k: v for k, v in ALLOWED.items() if k != "action"}, "action"),
        ("/access/v1/evaluation", {**ALLOWED, "context": {"time": "2018-03-05"}}, "context.purpose"),
        ("/access/v1/evaluation", {**ALLOWED, "context": {**CONTEXT, "time": "gisteren"}}, "context.time"),
        ("/access/v1/evaluation", [ALLOWED], "the body must be a JSON object"),
        (
            "/access/v1/evaluations",
            {**ALLOWED, "evaluations": [{"subject": {"id": "x"}}]},
            "evaluations[0].subject.type",
        ),
        (
            "/access/v1/evaluations",
            {**ALLOWED, "options": {"evaluations_semantic": "some"}},
            "options.evaluations_semantic",
        ),
        ("/access/v1/evaluations", {**ALLOWED, "evaluations": [{}] * 1001}, "evaluations"),
    ],
)
def test_malformed_authzen_input_is_400_naming_the_field_and_logs_nothing(
    api: Flask, seeded: Engine, bearer: dict[str, Any], path: str, body: Any, named: str
) -> None:
    before = logged(seeded)
    answer = post(api.test_client(), path, body, bearer["application"])
    assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    assert named in answer.get_json()["detail"]
    assert logged(seeded) == before


def test_the_same_roles_as_the_native_api(api: Flask, bearer: dict[str, Any]) -> None:
    client = api.test_client()
    for role in ("manager", "auditor", "privacy-officer"):
        assert post(client, "/access/v1/evaluation", ALLOWED, bearer[role]).status_code == 403
    assert client.post("/access/v1/evaluations", json=ALLOWED).status_code == 401
    found = client.get("/.well-known/authzen-configuration").get_json()
    assert found["access_evaluation_endpoint"].endswith("/access/v1/evaluation")
    assert found["access_evaluations_endpoint"].endswith("/access/v1/evaluations")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"context": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # deep
        b'{"subject": "' + b"x" * 2_000_000 + b'"}',  # larger than a body may be
        b"\xff\xfe not json",
        b'{"subject": {"type": "user", "id": "' + "é".encode() * 200 + b'"}}',
    ],
    ids=["deep", "huge", "not-json", "long-id"],
)
def test_hostile_bodies_are_4xx_and_log_nothing(api: Flask, seeded: Engine, bearer: dict[str, Any], raw: bytes) -> None:
    before = logged(seeded)
    searches = [f"/access/v1/search/{kind}" for kind in ("subject", "resource", "action")]
    for path in ("/access/v1/evaluation", "/access/v1/evaluations", *searches):
        role = "manager" if path in searches else "application"
        headers = {**bearer[role], "Content-Type": "application/json"}
        answer = api.test_client().post(path, data=raw, headers=headers)
        assert 400 <= answer.status_code < 500 and answer.mimetype == "application/problem+json", path
    assert logged(seeded) == before


def test_a_database_gone_is_503_never_an_allow(api: Flask, seeded: Engine, bearer: dict[str, Any]) -> None:
    client = api.test_client()
    assert post(client, "/access/v1/evaluation", ALLOWED, bearer["application"]).status_code == 200
    seeded.dispose()
    api.extensions["authreg.engine"].dispose()
    with seeded.connect() as connection:
        connection.exec_driver_sql("DROP TABLE audit_entry")
        connection.commit()
    answer = post(client, "/access/v1/evaluation", ALLOWED, bearer["application"])
    assert answer.status_code == 503 and "decision" not in answer.get_json()


def test_the_kind_of_person_is_asked_as_the_native_api_asks_it(api: Flask, bearer: dict[str, Any]) -> None:
    """``resource.properties.subject_kind`` is the native ``subject_kind``: a gateway that sends
    it has it weighed (it was dropped, and the request allowed, for a kind the flow is not about)."""
    client = api.test_client()
    for kind, allowed in (("amif-deelnemer", True), ("inburgeraar", False)):
        resource = {**RESOURCE, "properties": {**RESOURCE["properties"], "subject_kind": kind}}
        answer = post(client, "/access/v1/evaluation", {**ALLOWED, "resource": resource}, bearer["application"])
        assert answer.get_json()["decision"] is allowed, answer.get_json()
    assert "data-subject-kind-not-authorised" in answer.get_json()["context"]["reasons"]
    wrong = {**RESOURCE, "properties": {**RESOURCE["properties"], "subject_kind": 7}}
    refused = post(client, "/access/v1/evaluation", {**ALLOWED, "resource": wrong}, bearer["application"])
    assert refused.status_code == 400 and "resource.properties.subject_kind" in refused.get_data(as_text=True)
