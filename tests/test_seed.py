"""The seed decision (VTC, 13 September 2017) is encoded in full, with its paragraph numbers:
a reader who holds the YAML beside the decision finds nothing missing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from authreg.domain.documents import Context, merge, read_paths
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
    "gezinsleden": [
        "gezinslid-naam",
        "gezinslid-voornaam",
        "gezinslid-geboortedatum",
        "positie-gezinshoofd",
        "nationaliteit-ouders",  # §63
    ],
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
    assert [kind["id"] for kind in taxonomy.body["data_subjects"]] == ["amif-deelnemer", "gezinslid", "inburgeraar"]
    career = next(entry for entry in taxonomy.body["taxonomy"] if entry["id"] == "levensloopbaan")
    for item in ("huisvesting", "hoofdperspectief", "toekomstvisies", "leervragen", "maatschappelijke rollen"):
        assert item in career["label"]  # §65 lists them


def test_the_whole_policies_folder_is_consistent() -> None:
    assert merge(Context(), read_paths([POLICIES])).warnings == []


def test_dates_validity_and_status(seed: dict[str, Any]) -> None:
    assert seed["authority"] == "VTC"
    assert seed["decided_on"] == seed["valid_from"] == date(2017, 9, 13)
    assert seed["valid_until"] == date(2023, 6, 30)
    assert set(seed["paragraphs"]["valid_until"]) >= {73, 99}
    assert seed["status"] == "active"


def test_legal_bases_and_related_decisions_cover_paragraphs_2_to_7_and_32_to_40(seed: dict[str, Any]) -> None:
    cited = _paragraphs(seed["legal_bases"]) | set(seed["paragraphs"]["legal_bases"]) | _paragraphs(seed["related"])
    assert set(range(2, 8)) | set(range(32, 41)) <= cited
    bases = {basis["id"] for basis in seed["legal_bases"]}
    assert {  # named in the decision and its footnotes, beside the "gelet op" list
        "wet-ksz",
        "decreet-openbaarheid-bestuur",
        "bvr-22-november-2013",
        "kaderdecreet-bestuurlijk-beleid",
        "bvr-3-juni-2005",
        "bvr-31-maart-2006",
        "bvr-21-maart-2014",
    } <= bases
    assert "rr-39-2012" not in bases  # granted to ABB, still to be transferred (footnote 5)


def test_related_decisions_are_not_replacements(seed: dict[str, Any]) -> None:
    related = {(r["reference"].split()[-1], r["relation"]) for r in seed["related"]}
    assert related == {("39/2012", "pending-transfer"), ("48/2016", "depends-on"), ("11/2012", "source-of")}
    assert seed["replaces"] == []


def test_parties_with_both_processors_and_the_security_consultant(seed: dict[str, Any]) -> None:
    parties = {party["id"]: (party["roles"], party.get("acts_for")) for party in seed["parties"]}
    assert parties == {
        "VTC": (["authority"], None),
        "AII": (["discloser"], None),
        "WSE-ESF": (["recipient"], None),
        "HBPLUS": (["processor"], "WSE-ESF"),
        "REALDOLMEN": (["processor"], "AII"),
        "KBI-SC": (["security-consultant"], "AII"),  # §90 "en/of": two consultants
        "AII-SC": (["security-consultant"], "AII"),
        "WSE-SC": (["security-consultant"], "WSE-ESF"),  # §94
    }


def test_purposes_and_the_one_flow(seed: dict[str, Any]) -> None:
    assert [p["id"] for p in seed["purposes"]] == ["amif-eligibility", "amif-indicators"]
    assert 51 in _paragraphs(seed["purposes"])
    (flow,) = seed["flows"]
    assert (flow["from_"], flow["to"]) == ("AII", "WSE-ESF")
    assert flow["purposes"] == ["amif-eligibility", "amif-indicators"]
    assert flow["data_categories"] == TOP_LEVEL_CATEGORIES
    assert flow["data_subjects"] == ["amif-deelnemer", "gezinslid"]  # §61: all participants, and family
    assert {61, 62, 63} <= set(flow["paragraphs"])
    assert flow["national_register_number"]["allowed"] is True
    assert {34, 35, 98} <= set(flow["national_register_number"]["paragraphs"])


def test_terms_of_the_decision(seed: dict[str, Any]) -> None:
    assert (seed["sensitive"], seed["paragraphs"]["sensitive"]) == (True, [77])
    assert (seed["frequency"], seed["paragraphs"]["frequency"][0]) == ("permanent", 71)
    assert seed["retention_until"] == date(2029, 12, 31)
    assert {69, 70} <= set(seed["paragraphs"]["retention_until"])
    assert (seed["onward_disclosure"]["rule"], seed["paragraphs"]["onward_disclosure"]) == ("aggregated-only", [76])
    (exception,) = seed["onward_disclosure"]["exceptions"]
    assert (exception["to"], exception["paragraphs"]) == ("Europese controleorganen", [76])
    assert (seed["max_users"], seed["paragraphs"]["max_users"]) == (2, [75])


def test_two_authorised_users_with_profile_dossierbekijker(seed: dict[str, Any]) -> None:
    users = seed["authorised_users"]
    assert len(users) == 2
    assert {(u["organisation"], u["profile"], u["national_register_number_list"]) for u in users} == {
        ("WSE-ESF", "dossierbekijker", True)
    }
    assert not [u for u in users if "declaration_signed_on" in u]  # §78: they *will* sign; recorded when they do
    assert {75, 78, 79, 80} <= set(seed["paragraphs"]["authorised_users"])


def test_the_duties_of_the_decision(seed: dict[str, Any]) -> None:
    conditions = {c["id"]: c for c in seed["conditions"]}
    shape = {key: (c["kind"], c["responsible"], c.get("owed_to", [])) for key, c in conditions.items()}
    assert shape == {
        "security-plan": ("deadline", ["AII"], ["VTC"]),  # §101
        "samples-communicated": ("sample-gate", ["WSE-ESF"], ["KBI-SC", "AII-SC"]),  # §90, §100
        "rrn-user-list": (  # §79-80: "voortdurend", no period the decision names
            "standing",
            ["WSE-ESF"],
            ["Sectoraal comité van het Rijksregister", "Commissie voor de Bescherming van de Persoonlijke Levenssfeer"],
        ),
        "notice-art9": ("standing", ["WSE-ESF", "AII"], []),  # §85
        "processor-agreement-hbplus": ("on-event", ["WSE-ESF"], []),  # §86, §88: each controller, its processor
        "processor-agreement-realdolmen": ("on-event", ["AII"], []),  # §87, §88
        "art16-security": ("standing", ["WSE-ESF", "AII"], []),  # §89
        "processor-no-access": ("standing", ["WSE-ESF", "AII"], []),  # §93
    }
    assert conditions["security-plan"]["due_on"] == date(2017, 11, 30)
    assert (
        conditions["samples-communicated"]["effect"] == "gate" and "purposes" not in conditions["samples-communicated"]
    )
    assert (
        conditions["processor-agreement-hbplus"]["trigger"],
        conditions["processor-agreement-hbplus"]["within"],
    ) == (
        "hbplus-engaged",
        "P0D",
    )
    assert "every" not in conditions["rrn-user-list"]
    for key, numbers in {"security-plan": 101, "samples-communicated": 100, "rrn-user-list": 79}.items():
        assert numbers in conditions[key]["paragraphs"]


def test_remarks_keep_what_the_decision_says_without_a_duty(seed: dict[str, Any]) -> None:
    assert not {85, 88, 89, 93} & _paragraphs(seed["remarks"])  # duties now
    assert {8, 54, 90, 94} <= _paragraphs(seed["remarks"])
