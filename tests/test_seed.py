"""The seed decision (VTC, 13 September 2017) is encoded in full, with its paragraph numbers:
a reader who holds the YAML beside the decision finds nothing missing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from registry.documents import Context, merge, read_paths
from tests.conftest import POLICIES, SEED

TOP_LEVEL_CATEGORIES = [
    "officiele-personalia",
    "contactgegevens",
    "familiegegevens",
    "verblijfsgegevens",
    "doelgroep-inburgering",
    "gezinsleden",
    "competenties",
    "loopbaan",
    "trajectgegevens",
    "actiegegevens",
]
TAXONOMY = {
    "officiele-personalia": [
        "insz",
        "naam",
        "voornamen",
        "geslacht",
        "leeftijd",
        "geboortedatum",
        "geboorteplaats",
        "geboorteland",
        "derdelander",
        "nationaliteit",
    ],
    "contactgegevens": ["officieel-adres"],
    "familiegegevens": ["burgerlijke-staat"],
    "verblijfsgegevens": [
        "belgische-identiteitsbewijzen",
        "buitenlandse-identiteitsbewijzen",
        "verblijfsstatus",
        "aankomstgegevens",
    ],
    "doelgroep-inburgering": [],
    "gezinsleden": ["gezinslid-naam", "gezinslid-voornaam", "gezinslid-geboortedatum", "positie-gezinshoofd"],
    "competenties": [
        "talenkennis",
        "ict-vaardigheden",
        "rijbewijzen",
        "certificaten",
        "scholingsniveau",
        "opleidingen",
    ],
    "loopbaan": ["huidige-situatie", "levensloopbaan"],
    "trajectgegevens": [
        "traject-start-einde",
        "contactmomenten",
        "orientaties",
        "individuele-ondersteuning",
        "inburgeringsattest",
    ],
    "actiegegevens": ["aanwezigheden-mo", "nt2-cursus", "opleiding-onderwijs"],
}


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    (document,) = read_paths([SEED])
    return document.body


def _paragraphs(items: list[dict[str, Any]]) -> set[int]:
    return {number for item in items for number in item["paragraphs"]}


def test_the_taxonomy_has_exactly_the_contract_ids() -> None:
    (taxonomy,) = read_paths([POLICIES / "taxonomy.yaml"])
    entries = {entry["id"]: entry.get("parent") for entry in taxonomy.body["taxonomy"]}
    expected = {parent: None for parent in TAXONOMY} | {
        child: parent for parent, children in TAXONOMY.items() for child in children
    }
    assert entries == expected
    national = [entry["id"] for entry in taxonomy.body["taxonomy"] if entry["national_register_number"]]
    assert national == ["insz"]


def test_the_whole_policies_folder_is_consistent() -> None:
    assert merge(Context(), read_paths([POLICIES])).warnings == []


def test_dates_validity_and_status(seed: dict[str, Any]) -> None:
    assert seed["authority"] == "VTC"
    assert seed["decided_on"] == seed["valid_from"] == date(2017, 9, 13)
    assert seed["valid_until"] == date(2023, 6, 30)
    assert set(seed["paragraphs"]["valid_until"]) >= {73, 99}
    assert seed["status"] == "active"


def test_legal_bases_cover_paragraphs_2_to_7_and_32_to_40(seed: dict[str, Any]) -> None:
    cited = _paragraphs(seed["legal_bases"]) | set(seed["paragraphs"]["legal_bases"])
    assert set(range(2, 8)) | set(range(32, 41)) <= cited


def test_parties_with_both_processors_and_the_security_consultant(seed: dict[str, Any]) -> None:
    parties = {party["id"]: (party["roles"], party.get("acts_for")) for party in seed["parties"]}
    assert parties == {
        "VTC": (["authority"], None),
        "AII": (["discloser"], None),
        "WSE-ESF": (["recipient"], None),
        "HBPLUS": (["processor"], "WSE-ESF"),
        "REALDOLMEN": (["processor"], "AII"),
        "AII-SC": (["security-consultant"], "AII"),
    }


def test_purposes_and_the_one_flow(seed: dict[str, Any]) -> None:
    assert [p["id"] for p in seed["purposes"]] == ["amif-eligibility", "amif-indicators"]
    assert 51 in _paragraphs(seed["purposes"])
    (flow,) = seed["flows"]
    assert (flow["from_"], flow["to"]) == ("AII", "WSE-ESF")
    assert flow["purposes"] == ["amif-eligibility", "amif-indicators"]
    assert flow["data_categories"] == TOP_LEVEL_CATEGORIES
    assert flow["data_subjects"] == ["inburgeraar", "gezinslid"]
    assert {61, 62, 63} <= set(flow["paragraphs"])
    assert flow["national_register_number"]["allowed"] is True
    assert {34, 35, 98} <= set(flow["national_register_number"]["paragraphs"])


def test_terms_of_the_decision(seed: dict[str, Any]) -> None:
    assert (seed["sensitive"], seed["paragraphs"]["sensitive"]) == (True, [77])
    assert (seed["frequency"], seed["paragraphs"]["frequency"][0]) == ("permanent", 71)
    assert seed["retention_until"] == date(2029, 12, 31)
    assert {69, 70} <= set(seed["paragraphs"]["retention_until"])
    assert (seed["onward_disclosure"], seed["paragraphs"]["onward_disclosure"]) == ("aggregated-only", [76])
    assert (seed["max_users"], seed["paragraphs"]["max_users"]) == (2, [75])


def test_two_authorised_users_with_profile_dossierbekijker(seed: dict[str, Any]) -> None:
    users = seed["authorised_users"]
    assert len(users) == 2
    assert {(u["organisation"], u["profile"], u["national_register_number_list"]) for u in users} == {
        ("WSE-ESF", "dossierbekijker", True)
    }
    assert all(u["declaration_signed_on"] >= seed["decided_on"] for u in users)
    assert {75, 78, 79, 80} <= set(seed["paragraphs"]["authorised_users"])


def test_the_three_conditions(seed: dict[str, Any]) -> None:
    conditions = {c["id"]: c for c in seed["conditions"]}
    assert conditions["security-plan"]["kind"] == "deadline"
    assert conditions["security-plan"]["due_on"] == date(2017, 11, 30)
    assert conditions["security-plan"]["responsible"] == "AII"
    assert 101 in conditions["security-plan"]["paragraphs"]
    assert conditions["samples-communicated"]["kind"] == "sample-gate"
    assert conditions["samples-communicated"]["effect"] == "gate"
    assert {90, 92, 100} <= set(conditions["samples-communicated"]["paragraphs"])
    assert conditions["rrn-user-list"]["kind"] == "recurring"
    assert conditions["rrn-user-list"]["every"] == "P1Y"
    assert {79, 80} <= set(conditions["rrn-user-list"]["paragraphs"])


def test_remarks_keep_what_the_decision_says_without_a_date(seed: dict[str, Any]) -> None:
    assert {85, 88, 89, 93} <= _paragraphs(seed["remarks"])
