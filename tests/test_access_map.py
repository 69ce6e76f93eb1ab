"""Who may read what (issue 13, item 2): ``authreg access``, ``GET /api/v1/access`` and AuthZEN's
search endpoints, held against the decision engine. On generated registries every listed row
is a request Casbin allows, and every request Casbin allows is listed; the two directions (by
user, by category) list the same rows; the search endpoints answer exactly what evaluations
would allow, page by page."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from authreg.domain.access_map import Access, for_category, for_user
from authreg.domain.document_format import MAX_CATEGORY_DEPTH
from authreg.domain.documents import Document, parse, read_paths
from authreg.domain.errors import Invalid
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import DecisionRequest, load_request
from authreg.domain.snapshot import Snapshot
from authreg.services.access_report import Search, resources, subjects
from authreg.services.apply import apply_documents
from authreg.services.decision_service import DecisionService
from authreg.storage import registry_rows
from authreg.storage.sessions import reading, transaction
from authreg.storage.snapshot_loader import load_snapshot
from tests.conftest import (
    POLICIES,
    SEED_ASK,
    SEED_FACTS_DAY,
    SEED_ID,
    TEST_SECRET,
    dump_tables,
    examples,
    generated_registry,
    sqlite_only,
)
from tests.reference import RawSamples
from tests.test_decision_properties import CATEGORIES, ORGS, PURPOSES, SOURCES, USERS, days, registries
from tests.test_failclosed import move_away

DAY = "2018-03-05"
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
USER = {"type": "user", "id": SEED_ASK["user"], "properties": {"organisation": SEED_ASK["organisation"]}}
NAAM = {"type": "data-category", "id": "naam"}
PERSON = {"data_subject": SEED_ASK["data_subject"]}
# the keys a search body's objects have, for generated bodies to hit the paths that read them
FIELDS = ["subject", "resource", "action", "context", "page", "type", "id", "name", "properties", "organisation"]
FIELDS += ["source", "data_subject", "subject_kind", "purpose", "time", "token", "limit"]


def _request(user: str, organisation: str, category: str, purpose: str, day: date, **more: str) -> DecisionRequest:
    return DecisionRequest(user, organisation, category, purpose, "read", "", day, **more)


def _allows(engine: PolicyEngine, request: DecisionRequest) -> bool:
    with engine.lock:
        return engine.grant(request) is not None


@settings(max_examples=examples(600), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries(), days)
def test_every_listed_row_is_allowed_and_every_allowed_request_is_listed(
    registry: tuple[Snapshot, RawSamples], day: date
) -> None:
    snapshot, _ = registry
    engine = PolicyEngine(snapshot)
    listed: list[Access] = []
    for user in USERS:
        for organisation in ORGS:
            rows = for_user(engine, user, organisation, day)
            listed += rows
            plain = {(r.category, r.purpose, r.source) for r in rows if r.sample_gate is None}
            named = {(r.category, r.purpose, r.source) for r in rows if r.national_register_number}
            for category in [*CATEGORIES, "unknown"]:
                for purpose in [*PURPOSES, "px"]:
                    for source in SOURCES:
                        asked = (category, purpose, source)
                        # without a person: allowed exactly where an ungated row lists it
                        assert _allows(engine, _request(user, organisation, category, purpose, day, source=source)) == (
                            asked in plain
                        ), (user, organisation, asked)
                        # naming a person: allowed only where a row with the number lists it
                        for subject in ("h1", "h2", "h3"):
                            request = _request(
                                user, organisation, category, purpose, day, source=source, subject=subject
                            )
                            if _allows(engine, request):
                                assert asked in named, (user, organisation, asked, subject)
    for row in listed:
        if row.sample_gate is None:
            assert _allows(engine, _request(row.user, row.organisation, row.category, row.purpose, day))
        if row.national_register_number and row.sample_gate is None:
            assert _allows(engine, _request(row.user, row.organisation, row.category, row.purpose, day, subject="hx"))
        if not row.national_register_number:
            assert not snapshot.needs_national_register_number(row.category)
        view = snapshot.authorisations[row.authorisation]
        if row.sample_gate is not None:  # a person inside a communicated sample that day is allowed, no other
            sampled = [who for who, entered in view.sample_entry.items() if entered <= day]
            assert sampled, row  # a gated purpose nobody may be looked at for is not listed
            for subject in sampled:
                request = _request(row.user, row.organisation, row.category, row.purpose, day, subject=subject)
                assert _allows(engine, request), (row, subject)
    # the other direction lists the same rows
    by_category = [row for category in CATEGORIES for row in for_category(engine, category, day)]
    assert sorted(by_category) == sorted(listed)
    for source in SOURCES:
        assert for_category(engine, "a", day, source) == [
            r for r in for_category(engine, "a", day) if r.source == source
        ]


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries(), days, st.sampled_from([None, *PURPOSES]), st.sampled_from(["", "k1"]))
def test_a_search_finds_exactly_what_an_evaluation_allows(
    registry: tuple[Snapshot, RawSamples], day: date, purpose: str | None, kind: str
) -> None:
    """A search names no person: it finds what an evaluation allows naming none, or naming
    some person (under a sample gate, one inside a communicated sample)."""
    snapshot, _ = registry
    engine = PolicyEngine(snapshot)
    search = Search(day=day, purpose=purpose, subject_kind=kind)

    def allowed(user: str, organisation: str, category: str) -> bool:
        return any(
            _allows(engine, _request(user, organisation, category, asked, day, subject=person, subject_kind=kind))
            for asked in ([purpose] if purpose else PURPOSES)
            for person in ("", "h1", "h2", "h3")
        )

    for category in CATEGORIES:
        found = {(r.user, r.organisation) for r in subjects(engine, search, category, None)}
        assert found == {(u, o) for u in USERS for o in ORGS if allowed(u, o, category)}, category
    for user in USERS:
        for organisation in ORGS:
            found_categories = {r.category for r in resources(engine, search, user, organisation)}
            assert found_categories == {c for c in CATEGORIES if allowed(user, organisation, c)}


def test_on_a_generated_registry_the_listing_is_what_the_engine_allows(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    engine, bodies = generated_registry(tmp_path_factory.mktemp("access"), size=40, seed=13)
    with reading(engine) as session:
        policy = PolicyEngine(load_snapshot(session))
    day = date.fromisoformat(str(next(iter(bodies.values()))["valid_from"]))
    checked = 0
    for body in bodies.values():
        for user in body.get("authorised_users", ()):
            rows = for_user(policy, user["id"], user["organisation"], day)
            for row in rows:
                if row.sample_gate is None:
                    assert _allows(policy, _request(row.user, row.organisation, row.category, row.purpose, day))
                    checked += 1
            for category in {row.category for row in rows}:
                assert {(r.user, r.organisation) for r in for_category(policy, category, day)} >= {
                    (user["id"], user["organisation"])
                }
    assert checked > 0


def test_the_cli_lists_what_the_seed_user_may_read_and_who_may_read_a_category(run_cli: Any, seeded: Engine) -> None:
    by_user: Result = run_cli(
        "access", "--user", "esf-controller-1", "--organisation", "WSE-ESF", "--at", DAY, "--format", "json"
    )
    assert by_user.exit_code == 0, by_user.output
    rows = json.loads(by_user.output)["access"]
    naam = [row for row in rows if row["data_category"] == "naam"]
    assert {row["purpose"] for row in naam} == {"amif-eligibility", "amif-indicators"}
    assert all(row["sample_gate"] == "samples-communicated" and row["national_register_number"] for row in naam)
    assert all(row["authorisation"] == SEED_ID and row["flow"] == "aii-to-esf" for row in rows)
    assert naam[0]["granted_as"] == "officiele-personalia"  # a child of a granted category, expanded
    by_category = run_cli("access", "--category", "naam", "--at", DAY, "--format", "json")
    assert {(row["organisation"], row["user"]) for row in json.loads(by_category.output)["access"]} == {
        ("WSE-ESF", "esf-controller-1"),
        ("WSE-ESF", "esf-controller-2"),
    }
    table = run_cli("access", "--category", "naam", "--at", DAY)
    assert "amif-eligibility, amif-indicators" in table.output and "sampled persons only" in table.output
    before = run_cli("access", "--category", "naam", "--at", (SEED_FACTS_DAY.replace(day=1)).isoformat())
    assert before.output.count("esf-controller") == 0  # no declaration signed yet


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--user", "u"], "organisation: required with user"),
        (["--organisation", "O"], "user: required with organisation"),
        ([], "user: required"),
        (["--category", "naam", "--user", "u"], "category: ask by user and organisation, or by category"),
        (["--user", "u", "--organisation", "O", "--source", "AII"], "source: only with category"),
        (["--category", "naam", "--at", "tomorrow"], "not a date"),
    ],
)
def test_the_cli_refuses_a_question_naming_the_option(
    run_cli: Any, seeded: Engine, arguments: list[str], named: str
) -> None:
    result = run_cli("access", *arguments)
    assert result.exit_code == 2 and named in result.output


def test_the_api_lists_the_same_rows_as_the_cli(client: FlaskClient, bearer: dict[str, Any], run_cli: Any) -> None:
    answer = client.get(f"/api/v1/access?category=naam&source=AII&at={DAY}", headers=bearer["manager"])
    assert answer.status_code == 200
    cli = json.loads(run_cli("access", "--category", "naam", "--source", "AII", "--at", DAY, "--format", "json").output)
    assert answer.get_json() == cli
    other = client.get(f"/api/v1/access?category=naam&source=HBPLUS&at={DAY}", headers=bearer["privacy-officer"])
    assert other.get_json()["access"] == []
    refused = client.get("/api/v1/access?user=esf-controller-1", headers=bearer["manager"])
    assert refused.status_code == 422 and "organisation" in refused.get_data(as_text=True)
    unknown = client.get("/api/v1/access?who=x", headers=bearer["manager"])
    assert unknown.status_code == 422 and "who" in unknown.get_data(as_text=True)
    for role in ("application", "auditor"):
        assert client.get("/api/v1/access?category=naam", headers=bearer[role]).status_code == 403


@pytest.fixture
def searching(client: FlaskClient, bearer: dict[str, Any]) -> tuple[FlaskClient, dict[str, str]]:
    return client, bearer["manager"]


def _search(client: FlaskClient, headers: dict[str, str], kind: str, body: dict[str, Any]) -> Any:
    return client.post(f"/access/v1/search/{kind}", json=body, headers=headers)


def test_the_authzen_searches_on_the_seed(client: FlaskClient, bearer: dict[str, Any]) -> None:
    """The seed gates both purposes: whoever is found may look only at persons inside a
    communicated sample, and each result says so."""
    headers = bearer["manager"]
    context = {"purpose": "amif-eligibility", "time": DAY}
    users = _search(client, headers, "subject", {"subject": {"type": "user"}, "resource": NAAM, "context": context})
    assert users.status_code == 200, users.get_data(as_text=True)
    sampled = {"organisation": "WSE-ESF", "sampled_persons_only": True}
    assert users.get_json()["results"] == [
        {"type": "user", "id": f"esf-controller-{n}", "properties": sampled} for n in (1, 2)
    ]
    assert users.get_json()["page"] == {"next_token": "", "count": 2, "total": 2}
    found = _search(
        client, headers, "resource", {"subject": USER, "resource": {"type": "data-category"}, "context": context}
    )
    ids = [result["id"] for result in found.get_json()["results"]]
    assert "naam" in ids and "geboorteland" in ids and ids == sorted(ids)
    actions = _search(client, headers, "action", {"subject": USER, "resource": NAAM, "context": context})
    assert actions.get_json()["results"] == [{"name": "read", "properties": {"sampled_persons_only": True}}]
    none = _search(
        client, headers, "action", {"subject": USER, "resource": NAAM, "context": {**context, "purpose": "x"}}
    )
    assert none.get_json()["results"] == []
    kind = {**NAAM, "properties": {"subject_kind": "inburgeraar"}}  # not a kind the flow is about
    assert (
        _search(client, headers, "action", {"subject": USER, "resource": kind, "context": context}).get_json()[
            "results"
        ]
        == []
    )


def test_a_search_names_no_person_and_logs_nothing(client: FlaskClient, bearer: dict[str, Any], seeded: Engine) -> None:
    """Whether a person may be looked at is an evaluation, which is logged: a search naming one
    would tell whether that person is in a sample, unlogged, to roles that may not evaluate."""
    before = dump_tables(seeded)["audit_entry"]
    person = {**NAAM, "properties": PERSON}
    for role in ("manager", "privacy-officer"):
        refused = _search(client, bearer[role], "subject", {"subject": {"type": "user"}, "resource": person})
        assert refused.status_code == 400 and "resource.properties.data_subject" in refused.get_data(as_text=True)
    _search(client, bearer["manager"], "subject", {"subject": {"type": "user"}, "resource": NAAM})
    assert dump_tables(seeded)["audit_entry"] == before


def test_the_authzen_search_pages_through_every_result(client: FlaskClient, bearer: dict[str, Any]) -> None:
    headers = bearer["manager"]
    body = {"subject": USER, "resource": {"type": "data-category"}, "context": {"time": DAY}}
    whole = _search(client, headers, "resource", body).get_json()
    seen: list[Any] = []
    token = None
    while True:
        page = _search(
            client, headers, "resource", {**body, "page": {"limit": 7, **({"token": token} if token else {})}}
        )
        assert page.status_code == 200
        answer = page.get_json()
        seen += answer["results"]
        assert answer["page"]["total"] == whole["page"]["total"] and answer["page"]["count"] == len(answer["results"])
        token = answer["page"]["next_token"]
        if not token:
            break
    assert seen == whole["results"] and len(seen) > 7
    first = _search(client, headers, "resource", {**body, "page": {"limit": 7}}).get_json()["page"]["next_token"]
    changed = {**body, "context": {"time": "2018-03-06"}, "page": {"token": first}}
    stale = _search(client, headers, "resource", changed)
    assert stale.status_code == 400 and "page.token" in stale.get_data(as_text=True)
    forged = _search(client, headers, "resource", {**body, "page": {"token": "bm90LWEtdG9rZW4="}})
    assert forged.status_code == 400


@pytest.mark.parametrize(
    ("kind", "body", "named"),
    [
        ("subject", {"subject": {"type": "user", "id": "x"}, "resource": NAAM}, "subject.id"),
        ("subject", {"subject": {"type": "user"}, "resource": {"type": "data-category"}}, "resource.id"),
        ("subject", {"subject": {"type": "group"}, "resource": NAAM}, "subject.type"),
        (
            "resource",
            {"subject": {"type": "user", "id": "u"}, "resource": {"type": "data-category"}},
            "subject.properties.organisation",
        ),
        ("resource", {"subject": USER, "resource": NAAM}, "resource.id"),
        ("action", {"subject": USER, "resource": NAAM, "action": {"name": "read"}}, "action.name"),
        ("action", {"subject": USER, "resource": {**NAAM, "properties": {"source": 5}}}, "resource.properties.source"),
        ("action", {"subject": USER, "resource": NAAM, "context": {"time": "soon"}}, "context.time"),
        (
            "action",
            {"subject": USER, "resource": {**NAAM, "properties": {"data_subject": "1"}}},
            "resource.properties.data_subject",
        ),
        ("resource", {"subject": USER, "resource": {"type": "data-category"}, "page": {"limit": 0}}, "page.limit"),
        (
            "subject",
            {"subject": {"type": "user"}, "resource": {"type": "data-category", "id": "x" * 10_000}},
            "resource.id",
        ),
        ("subject", [], "JSON object"),
    ],
)
def test_a_malformed_search_is_400_naming_the_field(
    client: FlaskClient, bearer: dict[str, Any], kind: str, body: Any, named: str
) -> None:
    answer = _search(client, bearer["manager"], kind, body)
    assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    assert named in answer.get_data(as_text=True)


def test_search_roles_and_discovery(api: Flask, bearer: dict[str, Any]) -> None:
    client = api.test_client()
    body = {"subject": {"type": "user"}, "resource": NAAM}
    for role, status in (("application", 403), ("privacy-officer", 200), ("manager", 200), ("auditor", 403)):
        assert _search(client, bearer[role], "subject", body).status_code == status, role
    assert client.post("/access/v1/search/subject", json=body).status_code == 401
    found = client.get("/.well-known/authzen-configuration").get_json()
    assert found["search_subject_endpoint"].endswith("/access/v1/search/subject")
    assert found["search_resource_endpoint"].endswith("/access/v1/search/resource")
    assert found["search_action_endpoint"].endswith("/access/v1/search/action")


@sqlite_only
def test_a_database_gone_is_503_for_a_listing_and_a_search(api: Flask, bearer: dict[str, Any], tmp_path: Path) -> None:
    client = api.test_client()
    search = {"subject": {"type": "user"}, "resource": NAAM, "context": {"time": DAY}}
    assert _search(client, bearer["manager"], "subject", search).status_code == 200
    path, aside = tmp_path / "authreg.db", tmp_path / "aside.db"
    move_away(path, aside)
    for _ in range(3):  # every pooled connection still holds the old file open
        answer = _search(client, bearer["manager"], "subject", search)
        assert answer.status_code == 503 and "results" not in answer.get_json()
        listing = client.get(f"/api/v1/access?category=naam&at={DAY}", headers=bearer["manager"])
        assert listing.status_code == 503
    move_away(aside, path)
    assert _search(client, bearer["manager"], "subject", search).status_code == 200


@settings(max_examples=examples(200), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(["subject", "resource", "action"]),
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4),
        max_leaves=12,
    ),
)
def test_any_search_body_is_answered_or_refused_never_a_server_error(
    searching: tuple[FlaskClient, dict[str, str]], kind: str, body: Any
) -> None:
    client, headers = searching
    answer = _search(client, headers, kind, body)
    assert answer.status_code in (200, 400), answer.get_data(as_text=True)


def test_a_taxonomy_as_deep_as_a_decision_follows_is_listed_and_allowed_and_deeper_is_refused(
    seeded: Engine, tmp_path: Path
) -> None:
    """Categories down to ``MAX_CATEGORY_DEPTH`` levels are granted through their ancestors,
    listed and allowed alike; one level more is refused when applied, naming the category."""
    shared = read_paths([POLICIES / "taxonomy.yaml"])[0].canonical()
    chain = ["naam", *(f"naam-{level}" for level in range(3, MAX_CATEGORY_DEPTH + 1))]  # naam is level 2
    entries = [{"id": child, "label": child, "parent": parent} for parent, child in pairwise(chain)]
    deepest = chain[-1]

    def taxonomy(added: list[dict[str, str]]) -> list[Document]:
        return [parse({**shared, "taxonomy": shared["taxonomy"] + added}, "deep.yaml")]

    apply_documents(seeded, taxonomy(entries), actor="t", now=NOW)
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    listed = {(row.user, row.purpose) for row in for_category(service.policy, deepest, date(2018, 3, 5))}
    assert ("esf-controller-1", "amif-eligibility") in listed
    answer = service.ask(load_request({**SEED_ASK, "data_category": deepest, "at": DAY}), asked_by="t", now=NOW)
    assert answer["decision"] == "allow", answer["reasons"]
    with pytest.raises(Invalid) as refused:
        apply_documents(
            seeded, taxonomy([*entries, {"id": "te-diep", "label": "te diep", "parent": deepest}]), actor="t", now=NOW
        )
    assert f"'te-diep' is more than {MAX_CATEGORY_DEPTH} levels down" in str(refused.value)


def test_a_taxonomy_stored_deeper_than_the_limit_is_listed_as_it_is_decided(seeded: Engine) -> None:
    """A taxonomy stored before the limit (written here past ``apply``) may be deeper: a category
    more links below a granted one than a decision follows is denied, and not listed either."""
    chain = ["naam", *(f"naam-{level}" for level in range(3, MAX_CATEGORY_DEPTH + 3))]  # two levels too deep
    rows = {child: {"label": child, "parent": parent, "national_register_number": False, "sensitive": False}
            for parent, child in pairwise(chain)}  # fmt: skip
    with transaction(seeded) as session:
        registry_rows.write_categories(session, rows, {})
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    for category in chain[-3:]:  # the last within reach (8 links from the flow), and two beyond
        listed = any(row.user == "esf-controller-1" for row in for_category(service.policy, category, date(2018, 3, 5)))
        answer = service.ask(load_request({**SEED_ASK, "data_category": category, "at": DAY}), asked_by="t", now=NOW)
        assert listed == (answer["decision"] == "allow"), (category, answer["reasons"])
    assert (
        service.ask(load_request({**SEED_ASK, "data_category": chain[-3], "at": DAY}), asked_by="t", now=NOW)[
            "decision"
        ]
        == "allow"
    )
