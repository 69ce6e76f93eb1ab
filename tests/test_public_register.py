"""The public transparency register (issue 13, §81-85): what is in force on a day, for anyone,
without a token, and never a person: over HTTP (JSON, CSV), from the CLI, and on generated
registries against the documents themselves."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from authreg.app import create_app
from authreg.services import public_register
from bench.generate import START
from tests.conftest import POLICIES, SEED_ID, TEST_SECRET, generated_registry, write_yaml

Cli = Callable[..., Any]
IN_FORCE = "2020-01-01"
GEMEENTEN = "vtc-2018-voorbeeld-gemeenten"
# what names a person in the seed: its users, their names, the profile they look with
PERSONAL = ("esf-controller-1", "esf-controller-2", "Personeelslid", "dossierbekijker", "national_register_number")


def test_the_register_says_who_receives_what_and_names_no_person(client: FlaskClient) -> None:
    answer = client.get(f"/api/v1/public/register?at={IN_FORCE}")  # no token
    assert answer.status_code == 200
    assert answer.get_json() == {
        "at": IN_FORCE,
        "authorisations": [
            {
                "authorisation": SEED_ID,
                "reference": "VTC beraadslaging 13-09-2017 (AMIF)",
                "title": answer.get_json()["authorisations"][0]["title"],
                "authority": "Vlaamse Toezichtcommissie",
                "disclosers": ["Agentschap Integratie en Inburgering"],
                "recipients": ["Departement WSE, afdeling ESF"],
                "purposes": [
                    "controle van de subsidiabiliteit van de AMIF-acties en hun deelnemers",
                    "rapportering over de gemeenschappelijke indicatoren van het Nationaal Programma AMIF en de "
                    "oproepspecifieke indicatoren",
                ],
                "categories": [
                    "Competenties",
                    "Contactgegevens",
                    "Doelgroep inburgering",
                    "Familiegegevens",
                    "Familiegegevens van gezinsleden",
                    "Gegevens van een actie van een deelnemer in een AMIF-project",
                    "Loopbaan",
                    "Officiële personalia",
                    "Trajectgegevens van een deelnemer in een AMIF-project",
                    "Verblijfsgegevens",
                ],
                "valid_from": "2017-09-13",
                "valid_until": "2023-06-30",
                "retention_until": "2029-12-31",
            }
        ],
    }
    assert answer.get_json()["authorisations"][0]["title"].startswith(
        "Mededeling van persoonsgegevens van inburgeraars"
    )
    table = client.get(f"/api/v1/public/register.csv?at={IN_FORCE}")
    page = client.get(f"/public?at={IN_FORCE}")
    assert table.status_code == page.status_code == 200 and table.mimetype == "text/csv"
    assert b"Vlaamse Toezichtcommissie" in page.data and b"Departement WSE, afdeling ESF" in page.data
    for text in (answer.get_data(as_text=True), table.get_data(as_text=True), page.get_data(as_text=True)):
        assert not [word for word in PERSONAL if word in text]


def test_the_csv_has_one_row_per_authorisation_and_the_lists_joined(client: FlaskClient) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/public/register.csv?at={IN_FORCE}").text)))
    assert [row["authorisation"] for row in rows] == [SEED_ID]
    assert list(rows[0]) == list(public_register.FIELDS)
    assert rows[0]["purposes"].count("; ") == 1 and rows[0]["categories"].count("; ") == 9
    assert rows[0]["retention_until"] == "2029-12-31"


@pytest.mark.parametrize("day", ["2017-09-12", "2023-07-01"])
def test_outside_its_validity_it_is_not_listed(client: FlaskClient, day: str) -> None:
    assert client.get(f"/api/v1/public/register?at={day}").get_json() == {"at": day, "authorisations": []}


def test_a_suspended_authorisation_leaves_the_register_while_it_is(client: FlaskClient, run_cli: Cli) -> None:
    assert client.get("/api/v1/public/register?at=2019-06-01").get_json()["authorisations"]  # kept, then
    assert run_cli("suspend", SEED_ID, "--on", "2019-06-01", "--reason", "onderzoek").exit_code == 0
    assert client.get("/api/v1/public/register?at=2019-05-31").get_json()["authorisations"]
    assert client.get("/api/v1/public/register?at=2019-06-01").get_json()["authorisations"] == []
    assert b"Vlaamse Toezichtcommissie" not in client.get("/public?at=2019-06-01").data


def test_an_authorisation_an_overdue_condition_suspends_is_left_out(client: FlaskClient, run_cli: Cli) -> None:
    """The fixture's plan was due 2019-06-30, with effect suspend: from the next day on, it grants
    nothing, and the register does not list it (the seed, in force, stays)."""
    assert run_cli("apply", str(POLICIES / "tests" / "fixtures" / "gemeenten.yaml")).exit_code == 0
    listed = [
        e["authorisation"] for e in client.get("/api/v1/public/register?at=2019-06-30").get_json()["authorisations"]
    ]
    assert listed == [GEMEENTEN, SEED_ID] or sorted(listed) == sorted([GEMEENTEN, SEED_ID])
    later = client.get("/api/v1/public/register?at=2019-07-01").get_json()["authorisations"]
    assert [entry["authorisation"] for entry in later] == [SEED_ID]


def test_a_flow_is_listed_only_in_its_own_window(
    run_cli: Cli, client: FlaskClient, seed_document: dict[str, Any], tmp_path: Any
) -> None:
    seed_document["flows"][0]["valid_from"] = date(2019, 1, 1)
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    assert client.get("/api/v1/public/register?at=2018-06-01").get_json()["authorisations"] == []
    assert client.get("/api/v1/public/register?at=2019-01-01").get_json()["authorisations"][0]["recipients"] == [
        "Departement WSE, afdeling ESF"
    ]


def test_a_cell_that_would_run_as_a_formula_is_quoted(
    run_cli: Cli, client: FlaskClient, seed_document: dict[str, Any], tmp_path: Any
) -> None:
    seed_document["title"] = '=HYPERLINK("http://example.invalid")'
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    row = next(csv.DictReader(io.StringIO(client.get(f"/api/v1/public/register.csv?at={IN_FORCE}").text)))
    assert row["title"] == '\'=HYPERLINK("http://example.invalid")'
    assert client.get(f"/api/v1/public/register?at={IN_FORCE}").get_json()["authorisations"][0]["title"].startswith("=")


@pytest.mark.parametrize(
    ("query", "field"), [("at=2020-13-01", "at"), ("at=" + "9" * 5000, "at"), ("day=2020-01-01", "day")]
)
def test_bad_input_is_a_clear_error_naming_the_field(client: FlaskClient, query: str, field: str) -> None:
    for path in ("/api/v1/public/register", "/api/v1/public/register.csv"):
        answer = client.get(f"{path}?{query}")
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
        assert [error["path"] for error in answer.get_json()["errors"]] == [field]
    assert client.get("/public?at=2020-13-01").status_code == 400


def test_it_can_be_turned_off(seeded: Engine, database_url: str, outside: dict[str, str]) -> None:
    app: Flask = create_app(
        {"DATABASE_URL": database_url, "SUBJECT_KEY": TEST_SECRET, "PUBLIC_REGISTER": False, **outside}
    )
    client = app.test_client()
    try:
        for path in ("/api/v1/public/register", "/api/v1/public/register.csv", "/public"):
            assert client.get(path).status_code == 404, path
        assert b'href="/public"' not in client.get("/sign-in").data
    finally:
        app.extensions["authreg.engine"].dispose()


def test_the_cli_prints_the_same_register(run_cli: Cli, client: FlaskClient) -> None:
    printed = run_cli("public-register", "--at", IN_FORCE, "--format", "json")
    assert printed.exit_code == 0
    assert json.loads(printed.stdout) == client.get(f"/api/v1/public/register?at={IN_FORCE}").get_json()
    listed = run_cli("public-register", "--at", IN_FORCE, "--format", "csv")
    assert listed.stdout == client.get(f"/api/v1/public/register.csv?at={IN_FORCE}").text
    assert "Departement WSE, afdeling ESF" in run_cli("public-register", "--at", IN_FORCE).stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict[str, dict[str, Any]]]:
    return generated_registry(tmp_path_factory.mktemp("register"), size=40, seed=13)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=-30, max_value=1200))
def test_on_generated_registries_it_lists_exactly_what_is_in_force(
    generated: tuple[Engine, dict[str, dict[str, Any]]], offset: int
) -> None:
    engine, bodies = generated
    day = START + timedelta(days=offset)
    found = public_register.entries(engine, at=day)
    expected = {key for key, body in bodies.items() if body["valid_from"] <= day <= body["valid_until"]}
    assert {entry.authorisation for entry in found} == expected
    for entry in found:
        body = bodies[entry.authorisation]
        assert entry.recipients == (body["flows"][0]["to"],) and entry.disclosers == (body["flows"][0]["from_"],)
        assert set(entry.purposes) == set(body["flows"][0]["purposes"])  # the bench describes a purpose by its id
        tops = {key[: len("cat-00")] for key in body["flows"][0]["data_categories"]}  # cat-07-2 falls under cat-07
        assert set(entry.categories) == tops  # the bench labels a category by its id
        assert entry.valid_from == body["valid_from"] and entry.valid_until == body["valid_until"]
        assert not [user["id"] for user in body["authorised_users"] if user["id"] in json.dumps(entry.as_dict())]
