"""``authreg apply``: idempotent, versioned, all-or-nothing, with a readable diff."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from authreg.domain.clock import utcnow
from authreg.domain.documents import read_paths
from authreg.services.apply import apply_documents
from authreg.storage.models import (
    Authorisation,
    AuthorisationVersion,
    DataCategory,
    FlowCategory,
    Organisation,
    OrganisationMembership,
    PartyRole,
    RegistryChange,
    SubjectKind,
)
from tests.conftest import POLICIES, SEED_ID, dump_tables, write_yaml


def _versions(engine: Engine) -> list[tuple[int, str]]:
    with Session(engine) as session:
        rows = session.exec(select(AuthorisationVersion).where(AuthorisationVersion.authorisation_id == SEED_ID))
        return sorted((row.version, row.note) for row in rows)


def test_first_apply_creates_everything(engine: Engine, run_cli: Callable[..., Any]) -> None:
    result = run_cli("apply", str(POLICIES))
    assert result.exit_code == 0, result.stderr
    assert f"created   authorisation {SEED_ID} (version 1)" in result.stdout
    assert "changed   organisations (11 added, 0 updated, 0 unchanged)" in result.stdout
    assert "changed   taxonomy (50 added, 0 updated, 0 unchanged)" in result.stdout
    assert "registry version 1" in result.stdout
    with Session(engine) as session:
        assert session.get(Authorisation, SEED_ID).status == "active"  # type: ignore[union-attr]
        assert len(session.exec(select(DataCategory)).all()) == 47
        assert len(session.exec(select(SubjectKind)).all()) == 3
        assert session.get(OrganisationMembership, ("GEM-GENT", "GEMEENTEN")) is not None
        roles = {(r.organisation_id, r.role) for r in session.exec(select(PartyRole))}
        assert ("HBPLUS", "processor") in roles and ("KBI-SC", "security-consultant") in roles
        granted = {c.category_id for c in session.exec(select(FlowCategory))}
        assert len(granted) == 10


def test_second_apply_of_the_same_files_is_unchanged_and_writes_nothing(
    seeded: Engine, run_cli: Callable[..., Any]
) -> None:
    before = dump_tables(seeded)
    result = run_cli("apply", str(POLICIES))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"unchanged authorisation {SEED_ID} (version 1) {POLICIES / 'authorisations' / (SEED_ID + '.yaml')}",
        f"unchanged organisations (0 added, 0 updated, 11 unchanged) {POLICIES / 'organisations.yaml'}",
        f"unchanged taxonomy (0 added, 0 updated, 50 unchanged) {POLICIES / 'taxonomy.yaml'}",
    ]
    assert dump_tables(seeded) == before


def test_a_changed_document_becomes_a_new_version_and_the_diff_is_printed(
    seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["retention_until"] = "2030-12-31"
    file = write_yaml(tmp_path, "seed.yaml", seed_document)

    result = run_cli("apply", str(file))

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"changed   authorisation {SEED_ID} (version 2) {file}"
    assert f"    --- {SEED_ID} version 1" in lines
    assert f"    +++ {SEED_ID} version 2" in lines
    assert "    -retention_until: 2029-12-31" in lines
    assert "    +retention_until: 2030-12-31" in lines
    assert [
        line for line in lines if line.startswith(("    -", "    +")) and not line.startswith(("    ---", "    +++"))
    ] == [
        "    -retention_until: 2029-12-31",
        "    +retention_until: 2030-12-31",
    ]
    assert _versions(seeded) == [
        (1, f"applied from {POLICIES / 'authorisations' / (SEED_ID + '.yaml')}"),
        (2, f"applied from {file}"),
    ]
    with Session(seeded) as session:
        row = session.get(Authorisation, SEED_ID)
        assert row is not None and row.version == 2 and str(row.retention_until) == "2030-12-31"
        # the seed applied, the four facts conftest.record_seed_facts recorded, this change
        assert len(session.exec(select(RegistryChange)).all()) == 6
    assert run_cli("apply", str(file)).stdout.startswith(f"unchanged authorisation {SEED_ID} (version 2)")


def test_removing_a_flow_category_removes_its_grant(
    seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["flows"][0]["data_categories"].remove("loopbaan")
    result = run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document)))
    assert result.exit_code == 0
    assert re.search(r"^    -\s+- loopbaan$", result.stdout, re.MULTILINE)
    with Session(seeded) as session:
        granted = {c.category_id for c in session.exec(select(FlowCategory))}
    assert "loopbaan" not in granted and len(granted) == 9


def test_dry_run_prints_the_diff_and_writes_nothing(
    seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["status"] = "suspended"
    before = dump_tables(seeded)
    result = run_cli("apply", "--dry-run", str(write_yaml(tmp_path, "seed.yaml", seed_document)))
    assert result.exit_code == 0
    assert "    -status: active" in result.stdout.splitlines()
    assert "    +status: suspended" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "dry run: nothing written"
    assert dump_tables(seeded) == before


def test_dry_run_on_an_empty_registry_writes_nothing(engine: Engine, run_cli: Callable[..., Any]) -> None:
    before = dump_tables(engine)
    result = run_cli("apply", "--dry-run", str(POLICIES))
    assert result.exit_code == 0
    assert "created   authorisation" in result.stdout
    assert dump_tables(engine) == before


def test_organisation_updates_are_by_id_and_never_remove_by_omission(
    seeded: Engine, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    file = write_yaml(
        tmp_path,
        "more.yaml",
        {
            "organisations": [
                {"id": "GEM-GENT", "name": "Stad Gent", "member_of": []},
                {"id": "OCMW-GENT", "name": "OCMW Gent"},
            ]
        },
    )
    result = run_cli("apply", str(file))
    assert result.exit_code == 0, result.stderr
    assert "changed   organisations (1 added, 1 updated, 0 unchanged)" in result.stdout
    assert "    added OCMW-GENT" in result.stdout
    assert re.search(r"^    -\s+- GEMEENTEN$", result.stdout, re.MULTILINE)
    with Session(seeded) as session:
        assert len(session.exec(select(Organisation)).all()) == 12  # nothing removed
        assert session.get(OrganisationMembership, ("GEM-GENT", "GEMEENTEN")) is None
        assert session.get(OrganisationMembership, ("GEM-ANTWERPEN", "GEMEENTEN")) is not None


def test_parties_and_document_taxonomy_introduce_organisations_and_categories(
    engine: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["taxonomy"] = [
        {"id": "esf-dossiers", "label": "ESF-dossiers"},
        {"id": "esf-dossier", "label": "ESF-dossiernummer", "parent": "esf-dossiers"},
    ]
    seed_document["flows"][0]["data_categories"].append("esf-dossier")
    file = write_yaml(tmp_path, "seed.yaml", seed_document)
    result = run_cli("apply", str(POLICIES / "taxonomy.yaml"), str(file))
    assert result.exit_code == 0, result.stderr
    with Session(engine) as session:
        assert session.get(Organisation, "HBPLUS").name == "HBplus"  # type: ignore[union-attr]
        category = session.get(DataCategory, "esf-dossier")
        assert category is not None and category.parent_id == "esf-dossiers"


def test_files_in_any_order_are_applied(engine: Engine, run_cli: Callable[..., Any]) -> None:
    result = run_cli(
        "apply", str(POLICIES / "authorisations"), str(POLICIES / "taxonomy.yaml"), str(POLICIES / "organisations.yaml")
    )
    assert result.exit_code == 0, result.stderr
    assert f"created   authorisation {SEED_ID}" in result.stdout


def test_a_contact_changed_recompiles_nothing_and_a_membership_changed_everything(seeded: Engine) -> None:
    """A contact is where reminders go, not part of the policy: changing one touches no
    authorisation; a group membership changes what flows to groups grant, so everything."""
    organisations = read_paths([POLICIES / "organisations.yaml"])[0]
    for entry in organisations.body["organisations"]:
        if entry["id"] == "AII":
            entry["contact"] = "someone-else@integratie-inburgering.example.be"
    report = apply_documents(seeded, [organisations], actor="t", now=utcnow())
    assert report.changed and report.touched == []
    for entry in organisations.body["organisations"]:
        if entry["id"] == "GEM-GENT":
            entry["member_of"] = []
    assert apply_documents(seeded, [organisations], actor="t", now=utcnow()).touched is None
