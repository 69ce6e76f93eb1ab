"""One document must not change another's meaning (issue 8, item 3): a category belongs to the
shared taxonomy or to the one authorisation that declared it, only its owner changes it, a
change of the shared taxonomy lists the stored authorisations it affects, and a policy file
over the size limit is refused unread."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, select

from authreg.domain import documents, yaml_input
from authreg.storage import migrate
from authreg.storage.models import DataCategory
from authreg.storage.sessions import make_engine
from tests.conftest import POLICIES, SEED_ASK, SEED_ID, check_args, dump_tables, write_yaml

TAXONOMY = POLICIES / "taxonomy.yaml"
CHECK_INSZ = (*check_args({**SEED_ASK, "data_category": "insz", "at": "2018-01-01"}), "--format", "json")


def _other(seed_document: dict[str, Any], key: str, **changes: Any) -> dict[str, Any]:
    """A second authorisation between the same parties, for the same users."""
    return {**copy.deepcopy(seed_document), "id": key, **changes}


def _taxonomy_with(**changed: dict[str, Any]) -> dict[str, Any]:
    """The shared taxonomy document with some entries changed by id."""
    taxonomy = yaml_input.load(TAXONOMY.read_text(encoding="utf-8"))
    for entry in taxonomy["taxonomy"]:
        entry.update(changed.get(entry["id"], {}))
    return dict(taxonomy)


def _decision(run_cli: Callable[..., Any]) -> tuple[str, list[str]]:
    answer = json.loads(run_cli(*CHECK_INSZ).stdout)
    return answer["decision"], [reason["code"] for reason in answer["reasons"]]


@pytest.mark.parametrize("with_taxonomy", [True, False], ids=["taxonomy-in-batch", "alone"])
def test_an_authorisation_may_not_redefine_a_shared_category_to_turn_a_deny_into_an_allow(
    with_taxonomy: bool,
    seeded: Engine,
    seed_document: dict[str, Any],
    tmp_path: Path,
    run_cli: Callable[..., Any],
) -> None:
    """The attack of issue 8: a second authorisation clears ``insz``'s national register number
    in its own taxonomy, which made the first one's deny an allow."""
    seed_document["flows"][0]["national_register_number"] = {"allowed": False}
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    assert _decision(run_cli) == ("deny", ["national-register-number-not-authorised"])
    attacker = _other(
        seed_document,
        "vtc-attacker",
        taxonomy=[{"id": "insz", "label": "INSZ", "parent": "officiele-personalia", "national_register_number": False}],
    )
    file = write_yaml(tmp_path, "attacker.yaml", attacker)
    before = dump_tables(seeded)

    result = run_cli("apply", *([str(TAXONOMY)] if with_taxonomy else []), str(file))

    owner = f"the shared taxonomy ({TAXONOMY})" if with_taxonomy else "the shared taxonomy"
    assert result.exit_code == 2
    assert (
        f"error: {file}: taxonomy[0].id: category 'insz' belongs to {owner}; "
        "an authorisation may only add categories of its own"
    ) in result.stderr
    assert dump_tables(seeded) == before
    assert _decision(run_cli) == ("deny", ["national-register-number-not-authorised"])


def test_re_declaring_a_shared_category_unchanged_is_refused_too(
    seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["taxonomy"] = [{"id": "naam", "label": "Naam", "parent": "officiele-personalia"}]
    result = run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document)))
    assert result.exit_code == 2
    assert "taxonomy[0].id: category 'naam' belongs to the shared taxonomy" in result.stderr


def test_own_categories_are_stored_with_their_owner_and_re_apply_unchanged(
    seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["taxonomy"] = [
        {"id": "esf-dossier", "label": "ESF-dossier"},
        {"id": "esf-dossiernummer", "label": "ESF-dossiernummer", "parent": "esf-dossier"},
    ]
    seed_document["flows"][0]["data_categories"].append("esf-dossier")
    file = write_yaml(tmp_path, "seed.yaml", seed_document)
    assert run_cli("apply", str(file)).exit_code == 0
    with Session(seeded) as session:
        owners = {c.id: c.owner_id for c in session.exec(select(DataCategory))}
    assert owners["esf-dossier"] == owners["esf-dossiernummer"] == SEED_ID
    assert {owner for key, owner in owners.items() if not key.startswith("esf-")} == {None}

    before = dump_tables(seeded)
    again = run_cli("apply", str(TAXONOMY), str(file))
    assert again.exit_code == 0, again.stderr
    assert f"unchanged authorisation {SEED_ID} (version 2) {file}" in again.stdout
    assert dump_tables(seeded) == before

    seed_document["taxonomy"][0]["sensitive"] = True  # its own: it may change it
    changed = run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document)))
    assert changed.exit_code == 0, changed.stderr
    assert f"changed   authorisation {SEED_ID} (version 3) {file}" in changed.stdout
    with Session(seeded) as session:
        category = session.get(DataCategory, "esf-dossier")
        assert category is not None and (category.sensitive, category.owner_id) == (True, SEED_ID)


@pytest.mark.parametrize(
    ("change", "path", "rule"),
    [
        (
            lambda other: other.update(taxonomy=[{"id": "esf-dossier", "label": "Dossier"}]),
            "taxonomy[0].id",
            "an authorisation may only add categories of its own",
        ),
        (
            lambda other: other["flows"][0]["data_categories"].append("esf-dossier"),
            "flows[0].data_categories[10]",
            "a flow grants shared categories and its own only",
        ),
        (
            lambda other: other.update(taxonomy=[{"id": "mijn-dossier", "label": "Dossier", "parent": "esf-dossier"}]),
            "taxonomy[0].parent",
            "an authorisation's category hangs below one of its own only",
        ),
    ],
    ids=["redeclared", "granted", "as-parent"],
)
def test_another_authorisations_category_is_out_of_reach(
    change: Callable[[dict[str, Any]], None],
    path: str,
    rule: str,
    seeded: Engine,
    seed_document: dict[str, Any],
    tmp_path: Path,
    run_cli: Callable[..., Any],
) -> None:
    seed_document["taxonomy"] = [{"id": "esf-dossier", "label": "ESF-dossier"}]
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    other = _other(seed_document, "vtc-other", taxonomy=[])
    change(other)
    file = write_yaml(tmp_path, "other.yaml", other)
    before = dump_tables(seeded)

    result = run_cli("apply", str(file))

    assert result.exit_code == 2
    assert f"error: {file}: {path}: category 'esf-dossier' belongs to authorisation {SEED_ID}; {rule}" in result.stderr
    assert dump_tables(seeded) == before


def test_the_shared_taxonomy_may_not_take_over_an_authorisations_category(
    seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["taxonomy"] = [{"id": "esf-dossier", "label": "ESF-dossier"}]
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    taxonomy = write_yaml(tmp_path, "taxonomy.yaml", {"taxonomy": [{"id": "esf-dossier", "label": "Dossier"}]})
    shared_below_own = write_yaml(
        tmp_path, "below.yaml", {"taxonomy": [{"id": "dossiernummer", "label": "Nummer", "parent": "esf-dossier"}]}
    )
    result = run_cli("apply", str(taxonomy), str(shared_below_own))
    assert result.exit_code == 2
    assert (
        f"error: {taxonomy}: taxonomy[0].id: category 'esf-dossier' belongs to authorisation {SEED_ID}; "
        "only its owner changes it"
    ) in result.stderr
    assert (
        f"error: {shared_below_own}: taxonomy[0].parent: category 'esf-dossier' belongs to authorisation {SEED_ID}; "
        "a shared category hangs below shared ones only"
    ) in result.stderr


def test_two_new_authorisations_of_one_batch_may_not_both_claim_a_category(
    engine: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["taxonomy"] = [{"id": "esf-dossier", "label": "ESF-dossier"}]
    first = write_yaml(tmp_path, "a.yaml", seed_document)
    second = write_yaml(tmp_path, "b.yaml", _other(seed_document, "vtc-other"))
    result = run_cli("apply", str(POLICIES / "organisations.yaml"), str(TAXONOMY), str(first), str(second))
    assert result.exit_code == 2
    assert (
        f"error: {second}: taxonomy[0].id: category 'esf-dossier' belongs to authorisation {SEED_ID} ({first})"
    ) in result.stderr


@pytest.mark.parametrize(
    ("changed", "affected"),
    [
        ({"insz": {"national_register_number": False}}, True),
        ({"naam": {"parent": "contactgegevens"}}, True),
        ({"insz": {"label": "Rijksregisternummer"}}, False),
    ],
    ids=["national-register-number", "parent", "label"],
)
def test_a_change_of_the_shared_taxonomy_lists_the_stored_authorisations_it_affects(
    changed: dict[str, dict[str, Any]],
    affected: bool,
    seeded: Engine,
    tmp_path: Path,
    run_cli: Callable[..., Any],
) -> None:
    file = write_yaml(tmp_path, "taxonomy.yaml", _taxonomy_with(**changed))
    before = dump_tables(seeded)
    expected = ["changed   taxonomy (0 added, 1 updated, 49 unchanged) " + str(file)]
    expected += [f"    affects {SEED_ID} (flows aii-to-esf)"] if affected else []

    dry = run_cli("apply", "--dry-run", str(file))

    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.splitlines()[: len(expected)] == expected
    assert dry.stdout.splitlines()[-1] == "dry run: nothing written"
    assert dump_tables(seeded) == before

    applied = run_cli("apply", str(file))

    assert applied.exit_code == 0, applied.stderr
    assert applied.stdout.splitlines()[: len(expected)] == expected
    assert applied.stdout.splitlines()[-1].startswith("registry version ")


def test_an_authorisations_category_may_not_hang_below_a_shared_one(
    seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    """The seed grants ``loopbaan``, and with it whatever hangs below it: a category another
    authorisation hung there would be granted by the seed, and its national-register-number flag
    would change the seed's answers for ``loopbaan``."""
    other = _other(
        seed_document,
        "vtc-other",
        taxonomy=[{"id": "esf-dossier", "label": "Dossier", "parent": "loopbaan", "national_register_number": True}],
    )
    file = write_yaml(tmp_path, "other.yaml", other)
    before = dump_tables(seeded)
    result = run_cli("apply", str(file))
    assert result.exit_code == 2
    assert (
        f"error: {file}: taxonomy[0].parent: category 'loopbaan' belongs to the shared taxonomy; "
        "an authorisation's category hangs below one of its own only"
    ) in result.stderr
    assert dump_tables(seeded) == before


def test_over_http_a_redefinition_is_422_naming_the_path(
    api: Flask, bearer: dict[str, dict[str, str]], seed_document: dict[str, Any]
) -> None:
    body = json.loads(
        json.dumps(
            documents.parse(
                _other(seed_document, "vtc-attacker", taxonomy=[{"id": "insz", "label": "INSZ"}]), "seed"
            ).canonical()
        )
    )
    response = api.test_client().post("/api/v1/authorisations", json=body, headers=bearer["privacy-officer"])
    assert response.status_code == 422
    assert [e["path"] for e in response.get_json()["errors"]] == ["taxonomy[0].id"]
    assert "belongs to the shared taxonomy" in response.get_json()["errors"][0]["message"]


def test_a_file_over_the_limit_is_refused_before_it_is_parsed(
    engine: Engine, tmp_path: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * documents.MAX_FILE_BYTES + b"\n")
    exact = tmp_path / "exact.yaml"
    exact.write_bytes(b"#" * (documents.MAX_FILE_BYTES - 1) + b"\n")

    def parser_must_not_run(text: str) -> Any:
        raise AssertionError("parsed a file over the limit")

    monkeypatch.setattr(documents.yaml_input, "load", parser_must_not_run)
    result = run_cli("apply", str(big))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {big}: {documents.MAX_FILE_BYTES + 1} bytes, more than the limit of "
        f"{documents.MAX_FILE_BYTES} bytes (5 MiB); not read"
    )
    with pytest.raises(AssertionError, match="parsed a file"):  # at the limit it is read
        documents.read_file(exact)


def test_migration_0006_gives_each_category_the_authorisation_that_declared_it(database_url: str) -> None:
    migrate.upgrade(database_url, "0005")
    engine = make_engine(database_url)
    documents_by_id = {
        "a": {"id": "a", "taxonomy": [{"id": "own-a"}, {"id": "own-a-child"}, {"id": "both"}]},
        "b": {"id": "b", "taxonomy": [{"id": "both"}, {"id": "hijacked"}]},
    }
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO organisation (id, name, kind) VALUES ('VTC', 'VTC', 'organisation')"))
        # hijacked: a shared category (below a shared one) that b redefined before 0006
        parents = {"shared": None, "own-a": None, "own-a-child": "own-a", "both": None, "old-a": None}
        parents["hijacked"] = "shared"
        for category, parent in parents.items():
            connection.execute(
                text(
                    "INSERT INTO data_category (id, label, parent_id, national_register_number, sensitive) "
                    "VALUES (:id, :id, :parent, false, false)"
                ),
                {"id": category, "parent": parent},
            )
        for key, document in documents_by_id.items():
            connection.execute(
                text(
                    "INSERT INTO authorisation (id, reference, title, authority_id, decided_on, valid_from, status, "
                    "sensitive, version, updated_at, paragraphs) VALUES (:id, 'r', 't', 'VTC', '2017-09-13', "
                    "'2017-09-13', 'active', false, 2, '2017-09-13 00:00:00', '{}')"
                ),
                {"id": key},
            )
            # version 1 declared old-a; only the current version counts
            for version, body in ((1, {"id": key, "taxonomy": [{"id": "old-a"}]}), (2, document)):
                connection.execute(
                    text(
                        "INSERT INTO authorisation_version (authorisation_id, version, document, digest, created_at, "
                        "created_by, note) VALUES (:id, :version, :document, 'd', '2017-09-13 00:00:00', 'me', 'n')"
                    ),
                    {"id": key, "version": version, "document": json.dumps(body)},
                )

    migrate.upgrade(database_url)
    with engine.connect() as connection:
        owners = dict(connection.execute(text("SELECT id, owner_id FROM data_category")).all())
    assert owners == {
        "shared": None,
        "own-a": "a",
        "own-a-child": "a",
        "both": None,
        "old-a": None,
        "hijacked": None,  # stays shared, so the taxonomy document can repair it
    }

    migrate.downgrade(database_url, "0005")
    assert "owner_id" not in {column["name"] for column in inspect(engine).get_columns("data_category")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM data_category")).scalar_one() == 6
    engine.dispose()
