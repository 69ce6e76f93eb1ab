"""Size limits and hostile input (issue 8, items 7 and 8): every oversized or unstorable value
is an input error naming its field (422 over HTTP, exit 2 from the CLI) and nothing is written,
on SQLite and on PostgreSQL (which refuses NUL and over-long ids where SQLite stores them).
Hostile bodies and files (nesting, duplicate keys, huge numbers, chunked uploads) are 4xx."""

from __future__ import annotations

import copy
import http.client
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from authreg.api.bodies import too_deep
from authreg.domain import yaml_input
from authreg.domain.clock import utcnow
from authreg.domain.document_format import MAX_DEPTH, MAX_ID_LENGTH, text_error
from authreg.services import tokens
from authreg.storage import migrate
from authreg.storage.sessions import make_engine
from tests.conftest import SEED_ASK as ASK
from tests.conftest import SEED_ID, TEST_SECRET, check_args, dump_tables, write_yaml
from tests.serving import served

Cli = Callable[..., Any]
Headers = dict[str, dict[str, str]]
LONG_ID = "a" * (MAX_ID_LENGTH + 1)
HUGE_ID = "A" * 100_000
ONLY_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def problem_paths(response: Any, status: int = 422) -> list[str]:
    """The field paths a problem+json answer names, after checking it is one."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    return [error["path"] for error in response.get_json().get("errors", [])]


def post_json(web: FlaskClient, path: str, text: str, headers: dict[str, str]) -> Any:
    """A body exactly as written, for JSON that ``json=`` cannot produce."""
    return web.post(path, data=text, content_type="application/json", headers=headers)


@pytest.fixture
def web(api: Flask) -> FlaskClient:
    """The WSGI app on the seed, with a key to hash data subjects."""
    return api.test_client()


def test_text_limits_count_characters_and_refuse_unstorable_ones() -> None:
    assert text_error("a" * MAX_ID_LENGTH, MAX_ID_LENGTH) is None
    assert text_error("tab\tnewline\ncarriage return\r, é and 😀", 100) is None
    assert text_error(LONG_ID, MAX_ID_LENGTH) == "longer than 64 characters (65)"
    assert "U+0000" in str(text_error("a\x00b", 10))
    assert "U+001B" in str(text_error("\x1b[31m", 10))
    assert "U+D800" in str(text_error("\ud800", 10))


# --- documents over HTTP: ids, texts and numbers, on both databases --------------------------


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


DOCUMENT_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "authorisation id of 65 characters": (_set(("id",), LONG_ID), "id"),
    "id with a final newline": (_set(("id",), f"{SEED_ID}\n"), "id"),
    "party id of 100,000 characters": (_set(("parties", 1, "id"), HUGE_ID), "parties[1].id"),
    "purpose id": (_set(("purposes", 0, "id"), LONG_ID), "purposes[0].id"),
    "flow category": (_set(("flows", 0, "data_categories", 0), LONG_ID), "flows[0].data_categories[0]"),
    "user id": (_set(("authorised_users", 0, "id"), LONG_ID), "authorised_users[0].id"),
    "replaces": (_set(("replaces",), [LONG_ID]), "replaces[0]"),
    "NUL in the title": (_set(("title",), "AMIF\x00"), "title"),
    "lone surrogate in a description": (_set(("purposes", 0, "description"), "\ud800"), "purposes[0].description"),
    "escape character in a party name": (_set(("parties", 0, "name"), "\x1b[2J"), "parties[0].name"),
    "title of 501 characters": (_set(("title",), "t" * 501), "title"),
    "condition description of 10,001 characters": (
        _set(("conditions", 0, "description"), "d" * 10_001),
        "conditions[0].description",
    ),
    "max_users 10**30": (_set(("max_users",), 10**30), "max_users"),
    "paragraph 10**30": (_set(("paragraphs",), {"max_users": [10**30]}), "paragraphs.max_users.value[0]"),
}


def test_oversized_or_unstorable_document_fields_are_422_naming_them(
    web: FlaskClient, bearer: Headers, seeded: Engine, seed_document: dict[str, Any]
) -> None:
    before = dump_tables(seeded)
    for case, (change, path) in DOCUMENT_CASES.items():
        document = copy.deepcopy(seed_document)
        change(document)
        created = web.post("/api/v1/authorisations", json=document, headers=bearer["privacy-officer"])
        assert path in problem_paths(created), case
        updated = web.put(
            f"/api/v1/authorisations/{SEED_ID}", json=document, headers={**bearer["privacy-officer"], "If-Match": '"1"'}
        )
        assert path in problem_paths(updated), case
    assert dump_tables(seeded) == before


# --- decision requests over HTTP, on both databases ------------------------------------------

REQUEST_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "user of 65 characters": ({**ASK, "user": LONG_ID}, "user"),
    "organisation of 100,000 characters": ({**ASK, "organisation": HUGE_ID}, "organisation"),
    "NUL in the purpose": ({**ASK, "purpose": "amif\x00"}, "purpose"),
    "lone surrogate in the category": ({**ASK, "data_category": "\udfff"}, "data_category"),
    "action": ({**ASK, "action": LONG_ID}, "action"),
    "source": ({**ASK, "source": LONG_ID}, "source"),
    "data_subject": ({**ASK, "data_subject": "8" * 65}, "data_subject"),
    "at of 65 characters": ({**ASK, "at": "2018-01-01T00:00:00" + " " * 46}, "at"),
    "at past the end of the calendar": ({**ASK, "at": "9999-12-31T23:59:59-12:00"}, "at"),
    "at before its start": ({**ASK, "at": "0001-01-01T00:00:00+14:00"}, "at"),
}


def test_oversized_or_unstorable_decision_requests_are_422_naming_the_field(
    web: FlaskClient, bearer: Headers, seeded: Engine
) -> None:
    before = dump_tables(seeded)
    for case, (asked, path) in REQUEST_CASES.items():
        single = web.post("/api/v1/decisions", json=asked, headers=bearer["application"])
        assert problem_paths(single) == [path], case
        batch = web.post("/api/v1/decisions/batch", json={"requests": [ASK, asked]}, headers=bearer["application"])
        assert problem_paths(batch) == [f"requests[1].{path}"], case
    assert dump_tables(seeded) == before  # no audit entry for a request that is not one


@ONLY_SQLITE
def test_a_raw_lone_surrogate_escape_is_422_naming_the_field(web: FlaskClient, bearer: Headers) -> None:
    body = '{"user": "\\ud800", "organisation": "WSE-ESF", "data_category": "naam", "purpose": "p"}'
    response = post_json(web, "/api/v1/decisions", body, bearer["application"])
    assert problem_paths(response) == ["user"]


# --- recorded facts over HTTP, on both databases ---------------------------------------------

FACT = f"/api/v1/authorisations/{SEED_ID}"
FULFILMENT = {"fulfilled_on": "2018-01-15", "evidence": "brief aan de VTC", "link": "https://example.org/brief"}
SAMPLE = {"id": "s1", "drawn_on": "2018-03-01", "subjects": ["85.07.30-033.28"]}
FACT_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "NUL in evidence": (
        f"{FACT}/conditions/security-plan/fulfilments",
        {**FULFILMENT, "evidence": "brief\x00"},
        "evidence",
    ),
    "evidence of 10,001 characters": (
        f"{FACT}/conditions/security-plan/fulfilments",
        {**FULFILMENT, "evidence": "e" * 10_001},
        "evidence",
    ),
    "link of 2,001 characters": (
        f"{FACT}/conditions/security-plan/fulfilments",
        {**FULFILMENT, "link": "https://example.org/" + "l" * 1_981},
        "link",
    ),
    "sample id of 65 characters": (f"{FACT}/samples", {**SAMPLE, "id": LONG_ID}, "id"),
    "sample subject of 65 characters": (f"{FACT}/samples", {**SAMPLE, "subjects": ["8" * 65]}, "subjects[0]"),
    "NUL in a suspension reason": (f"{FACT}/suspend", {"on": "2018-01-01", "reason": "\x00"}, "reason"),
    "reason of 10,001 characters": (f"{FACT}/revoke", {"on": "2018-01-01", "reason": "r" * 10_001}, "reason"),
    "communicated to a party id of 100,000 characters": (
        f"{FACT}/samples/s1/communications",
        {"communicated_on": "2018-03-02", "to": [HUGE_ID]},
        "to[0]",
    ),
    "declaration evidence of 10,001 characters": (
        f"{FACT}/users/esf-controller-1/declarations",
        {"signed_on": "2017-10-03", "evidence": "e" * 10_001},
        "evidence",
    ),
    "NUL in a declaration's evidence": (
        f"{FACT}/users/esf-controller-1/declarations",
        {"signed_on": "2017-10-03", "evidence": "map\x00"},
        "evidence",
    ),
    "a correction numbered past any database column": (
        f"{FACT}/users/esf-controller-1/declarations",
        {"signed_on": "2017-10-03", "supersedes": 2**70},
        "supersedes",
    ),
    "an event id of 100,000 characters": (f"{FACT}/events", {"event": HUGE_ID, "occurred_on": "2018-05-01"}, "event"),
    "NUL in an event's evidence": (
        f"{FACT}/events",
        {"event": "hbplus-engaged", "occurred_on": "2018-05-01", "evidence": "\x00"},
        "evidence",
    ),
}


def test_oversized_or_unstorable_facts_are_422_naming_the_field(
    web: FlaskClient, bearer: Headers, seeded: Engine
) -> None:
    before = dump_tables(seeded)
    for case, (path, body, field) in FACT_CASES.items():
        response = web.post(path, json=body, headers=bearer["privacy-officer"])
        assert problem_paths(response) == [field], case
    assert dump_tables(seeded) == before


def test_an_unstorable_query_value_is_422_not_a_database_error(web: FlaskClient, bearer: Headers) -> None:
    listed = web.get("/api/v1/authorisations?organisation=AII%00", headers=bearer["manager"])
    assert problem_paths(listed) == ["organisation"]
    conditions = web.get(f"/api/v1/conditions?authorisation={LONG_ID}", headers=bearer["manager"])
    assert problem_paths(conditions) == ["authorisation"]


def test_an_unknown_query_parameter_is_422_naming_it(web: FlaskClient, bearer: Headers) -> None:
    """A misspelt filter must not answer as if there were none (``?statuss=`` listed every status)."""
    for path, role in (
        ("/api/v1/authorisations?statuss=revoked", "manager"),
        ("/api/v1/conditions?stat=overdue", "manager"),
        ("/api/v1/audit?limt=5", "auditor"),
    ):
        answer = web.get(path, headers=bearer[role])
        assert answer.status_code == 422, path
        assert problem_paths(answer) == [path.split("?")[1].split("=")[0]], path
    assert web.get("/api/v1/authorisations?status=revoked", headers=bearer["manager"]).json == {"authorisations": []}


@ONLY_SQLITE
def test_the_limits_are_published_in_the_openapi_document(web: FlaskClient) -> None:
    schemas = web.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Request"]["properties"]["user"]["maxLength"] == MAX_ID_LENGTH
    assert schemas["Authorisation"]["properties"]["title"]["maxLength"] == 500


# --- the CLI, on both databases ----------------------------------------------------------------


@pytest.fixture
def cli(seeded: Engine, run_cli: Cli) -> Cli:
    """The CLI on the seed, used once with the secret key: the registry records the key's
    fingerprint on first use, which is not what these tests look for."""
    run_cli(*check_args(ASK), "--at", "2018-01-01")
    return run_cli


def test_the_cli_refuses_oversized_or_unstorable_input_with_exit_2(
    cli: Cli, seeded: Engine, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    long_id = {**seed_document, "id": LONG_ID}
    nul_title = {**seed_document, "title": "AMIF\x00"}
    cases: dict[str, tuple[tuple[str, ...], str]] = {
        "document id": (("apply", str(write_yaml(tmp_path, "long.yaml", long_id))), "long.yaml: id: longer than 64"),
        "NUL in a document": (("apply", str(write_yaml(tmp_path, "nul.yaml", nul_title))), "nul.yaml: title: contains"),
        "decision at": (
            (*check_args(ASK), "--at", "9999-12-31T23:59:59-12:00"),
            "at: outside the calendar",
        ),
        "decision user": (check_args({**ASK, "user": LONG_ID}), "user: longer than 64"),
        "evidence": (
            ("fulfil", SEED_ID, "security-plan", "--on", "2018-01-15", "--evidence", "brief\x00"),
            "evidence: contains U+0000",
        ),
        "link": (
            ("fulfil", SEED_ID, "security-plan", "--on", "2018-01-15", "--evidence", "e", "--link", "l" * 2_001),
            "link: longer than 2000",
        ),
        "sample id": (
            ("sample", "add", SEED_ID, LONG_ID, "--drawn-on", "2018-03-01", "85.07.30-033.28"),
            "id: longer than 64",
        ),
        "sample id with a final newline": (
            ("sample", "add", SEED_ID, "s1\n", "--drawn-on", "2018-03-01", "85.07.30-033.28"),
            "id: not a lower-case id",
        ),
        "sample to extend": (("sample", "extend", SEED_ID, HUGE_ID, "85.07.30-033.28"), "sample: longer than 64"),
        "token name": (("token", "create", "--role", "auditor", "--name", LONG_ID), "name: longer than 64"),
    }
    before = dump_tables(seeded)
    for case, (args, message) in cases.items():
        result = cli(*args)
        assert (result.exit_code, message in result.stderr) == (2, True), (case, result.stderr[:500])
    assert dump_tables(seeded) == before


# --- hostile bodies and files (the database does not matter: SQLite only) ----------------------


@ONLY_SQLITE
def test_json_nested_100000_deep_is_400_before_parsing(web: FlaskClient, bearer: Headers, seeded: Engine) -> None:
    before = dump_tables(seeded)
    deep = '{"user": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = post_json(web, "/api/v1/decisions", deep, bearer["application"])
    problem_paths(response, 400)
    assert f"deeper than {MAX_DEPTH} levels" in response.get_json()["detail"]
    depth = MAX_DEPTH - 1  # with the object around them: at the limit, so parsed (then not a text)
    within = json.dumps(ASK).replace('"esf-controller-1"', "[" * depth + "]" * depth)
    assert problem_paths(post_json(web, "/api/v1/decisions", within, bearer["application"])) == ["user"]
    assert dump_tables(seeded) == before
    assert not too_deep(json.dumps({"text": "[{" * 100}))  # brackets inside strings do not nest
    assert too_deep(json.dumps({"text": "]"}) + "[" * (MAX_DEPTH + 1))


@ONLY_SQLITE
def test_duplicate_json_keys_are_422_naming_the_key(
    web: FlaskClient, bearer: Headers, seeded: Engine, seed_document: dict[str, Any]
) -> None:
    before = dump_tables(seeded)
    twice = json.dumps(ASK).replace('"user"', '"user": "someone-else", "user"')
    response = post_json(web, "/api/v1/decisions", twice, bearer["application"])
    assert problem_paths(response) == ["user"]
    assert "given twice" in response.get_json()["errors"][0]["message"]
    document = json.dumps({**seed_document, "id": "other"})
    nested = document.replace('"id": "VTC"', '"id": "VTC", "id": "AII"', 1)
    assert nested != document
    created = post_json(web, "/api/v1/authorisations", nested, bearer["privacy-officer"])
    assert problem_paths(created) == ["id"]
    assert dump_tables(seeded) == before


@ONLY_SQLITE
def test_a_number_of_5000_digits_is_4xx(
    web: FlaskClient, bearer: Headers, seeded: Engine, seed_document: dict[str, Any]
) -> None:
    before = dump_tables(seeded)
    document = json.dumps(seed_document)
    huge_users = document[:-1] + ', "max_users": ' + "9" * 5_000 + "}"
    response = post_json(web, "/api/v1/authorisations", huge_users, bearer["privacy-officer"])
    problem_paths(response, 400)
    assert "more than 4300 digits" in response.get_json()["detail"]
    for version in ("1" * 5_000, "²"):  # int() refuses over 4,300 digits; str.isdigit takes "²", int() not
        stale = web.put(
            f"/api/v1/authorisations/{SEED_ID}",
            json=seed_document,
            headers={**bearer["privacy-officer"], "If-Match": f'"{version}"'},
        )
        assert problem_paths(stale) == ["If-Match"]
    assert dump_tables(seeded) == before


def _chunked(web: FlaskClient, body: bytes, headers: dict[str, str]) -> Any:
    """A chunked body as a server that ends the input stream itself (gunicorn; werkzeug's for
    chunked requests) hands it on: no content length, ``wsgi.input_terminated`` set."""
    return web.post(
        "/api/v1/decisions",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


@ONLY_SQLITE
def test_a_chunked_body_over_the_limit_is_413(web: FlaskClient, bearer: Headers, api: Flask) -> None:
    limit = api.config["MAX_CONTENT_LENGTH"]
    small = json.dumps({**ASK, "at": "2018-01-01"}).encode()
    assert _chunked(web, small, bearer["application"]).get_json()["decision"] == "allow"
    padded = small + b" " * (limit - len(small))  # exactly the limit: still read
    assert len(padded) == limit
    assert _chunked(web, padded, bearer["application"]).status_code == 200
    over = small[:-1] + b', "source": "' + b"x" * limit + b'"}'
    response = _chunked(web, over, bearer["application"])
    problem_paths(response, 413)


@pytest.fixture
def served_registry(sqlite_url: str) -> Iterator[tuple[int, str]]:
    """The registry served by gunicorn over a socket, and an application token for it."""
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    token = tokens.create(engine, name="app", role="application", now=utcnow())
    engine.dispose()
    with served(sqlite_url, AUTHREG_SECRET_KEY=TEST_SECRET) as port:
        yield port, token


def test_a_chunked_body_over_the_limit_is_413_from_a_real_server(served_registry: tuple[int, str]) -> None:
    port, token = served_registry
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    chunks = (b'{"user": "' + b"x" * 65_536 for _ in range(20))  # 1.25 MiB, never a Content-Length
    try:
        connection.request(
            "POST",
            "/api/v1/decisions",
            body=chunks,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (413, "application/problem+json")
    finally:
        connection.close()


def test_yaml_nested_20000_deep_is_a_yaml_error_not_a_recursion_error() -> None:
    for text in ("x: " + "[" * 20_000 + "]" * 20_000, "- " * 20_000 + "x"):
        with pytest.raises(yaml.YAMLError, match=f"nested deeper than {MAX_DEPTH} levels"):
            yaml_input.load(text)
    nested: Any = "x"
    for _ in range(MAX_DEPTH):
        nested = [nested]
    assert yaml_input.load(yaml_input.dump(nested)) == nested
    with pytest.raises(yaml.YAMLError, match="an integer longer than 32 characters"):
        yaml_input.load("max_users: " + "9" * 5_000)
    with pytest.raises(yaml.YAMLError, match="an integer longer than 32 characters"):
        yaml_input.load("max_users: 1" + ":0" * 100_000)  # YAML 1.1 base 60, quadratic to convert
    # "billion laughs": under 5 MB of aliases expanded to 1.76 GB before they were refused
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(yaml.YAMLError, match="aliases"):
        yaml_input.load(laughs)
    shared = {"x": [1]}  # what is dumped twice is written out twice, so it loads again
    assert yaml_input.load(yaml_input.dump({"a": shared, "b": shared})) == {"a": shared, "b": shared}


@ONLY_SQLITE
def test_apply_of_deep_yaml_exits_2_naming_the_file(seeded: Engine, run_cli: Cli, tmp_path: Path) -> None:
    before = dump_tables(seeded)
    deep = tmp_path / "deep.yaml"
    deep.write_text("id: " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    huge = tmp_path / "huge.yaml"
    huge.write_text("id: x\nmax_users: " + "9" * 5_000 + "\n", encoding="utf-8")
    for path, message in ((deep, "nested deeper than"), (huge, "an integer longer than")):
        result = run_cli("apply", str(path))
        assert result.exit_code == 2, result.output
        assert f"{path}: not valid YAML: " in result.stderr and message in result.stderr
    assert dump_tables(seeded) == before
