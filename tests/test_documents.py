""" "Is this document valid": every kind of invalid document is rejected with the file and the
exact field path, and a rejected batch writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from authreg.domain.documents import Context, merge, parse, read_paths
from authreg.domain.errors import Invalid
from tests.conftest import POLICIES, dump_tables, write_yaml

Mutation = Callable[[dict[str, Any]], None]


def _parent(doc: dict[str, Any], path: str) -> tuple[Any, str | int]:
    """The container holding the last part of an ``a.b[1].c`` style path, and that part."""
    *parents, last = [int(p) if p.isdigit() else p for p in path.replace("]", "").replace("[", ".").split(".")]
    node: Any = doc
    for part in parents:
        node = node[part]
    return node, last


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, last = _parent(doc, path)
        node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, last = _parent(doc, path)
        del node[last]

    return mutate


INVALID_SEEDS = {
    "unknown key": (_set("conditions[1].due", "2017-11-30"), "conditions[1].due", "unknown key"),
    "unknown top-level key": (_set("valid_till", "2023-06-30"), "valid_till", "unknown key"),
    "missing field": (_delete("reference"), "reference", "required"),
    "missing nested field": (_delete("flows[0].to"), "flows[0].to", "required"),
    "bad date": (_set("conditions[0].due_on", "2017-11-31"), "conditions[0].due_on", "not a date"),
    "date with a time": (_set("valid_from", "2017-09-13T10:00:00"), "valid_from", "not a date"),
    "dangling purpose": (
        _set("flows[0].purposes[1]", "amif-audit"),
        "flows[0].purposes[1]",
        "'amif-audit' is not a purpose of this authorisation",
    ),
    "dangling category": (
        _set("flows[0].data_categories[2]", "gezondheid"),
        "flows[0].data_categories[2]",
        "unknown category 'gezondheid'",
    ),
    "dangling flow end": (_set("flows[0].to", "WSE"), "flows[0].to", "'WSE' is not a party of this authorisation"),
    "flow end without its role": (
        _set("flows[0].to", "HBPLUS"),
        "flows[0].to",
        "party 'HBPLUS' does not have role recipient",
    ),
    "dangling responsible": (
        _set("conditions[2].responsible", "WSE"),
        "conditions[2].responsible[0]",
        "'WSE' is not a party of this authorisation",
    ),
    "dangling acts_for": (_set("parties[3].acts_for", "WSE"), "parties[3].acts_for", "'WSE' is not a party"),
    "user of no party": (
        _set("authorised_users[0].organisation", "GEM-GENT"),
        "authorised_users[0].organisation",
        "GEM-GENT is neither a party of this authorisation nor a member of a group that is one",
    ),
    "authority not a party": (_set("authority", "AII"), "authority", "'AII' is not a party with role authority"),
    "duplicate id": (
        _set("authorised_users[1].id", "esf-controller-1"),
        "authorised_users[1].id",
        "duplicate id 'esf-controller-1' (also authorised_users[0])",
    ),
    "duplicate party": (_set("parties[5].id", "AII"), "parties[5].id", "duplicate id 'AII' (also parties[1])"),
    "valid_until before valid_from": (_set("valid_until", "2017-09-01"), "valid_until", "before valid_from 2017-09-13"),
    "valid_from before decided_on": (_set("valid_from", "2017-09-01"), "valid_from", "before decided_on 2017-09-13"),
    "flow window outside the authorisation": (
        _set("flows[0].valid_until", "2024-01-01"),
        "flows[0].valid_until",
        "after the authorisation's valid_until 2023-06-30",
    ),
    "flow starting after the authorisation ends": (
        _set("flows[0].valid_from", "2024-01-01"),
        "flows[0].valid_from",
        "after the authorisation's valid_until 2023-06-30: the flow would never be valid",
    ),
    "upper-case slug": (_set("id", "VTC-2017"), "id", "not a lower-case id"),
    "lower-case organisation": (_set("parties[0].id", "vtc"), "parties[0].id", "not an upper-case organisation code"),
    "unknown status": (_set("status", "paused"), "status", "must be one of active, suspended, revoked"),
    "unknown role": (_set("parties[0].role", "controller"), "parties[0].roles[0]", "must be one of authority"),
    "role and roles": (_set("parties[0].roles", ["authority"]), "parties[0].role", "give role or roles, not both"),
    "yes is not a boolean": (_set("sensitive", "yes"), "sensitive", "not true or false"),
    "paragraph not a number": (
        _set("conditions[0].paragraphs", [96, "101"]),
        "conditions[0].paragraphs[1]",
        "not a whole number",
    ),
    "deadline without due_on": (
        _delete("conditions[0].due_on"),
        "conditions[0].due_on",
        "required for a deadline condition",
    ),
    "standing with due_on": (
        _set("conditions[2].due_on", "2018-01-01"),
        "conditions[2].due_on",
        "a standing condition has no due_on (only deadline ones)",
    ),
    "on-event without its trigger": (
        _delete("conditions[4].trigger"),
        "conditions[4].trigger",
        "required for an on-event condition",
    ),
    "a trigger on a deadline": (
        _set("conditions[0].trigger", "plan-approved"),
        "conditions[0].trigger",
        "a deadline condition has no trigger (only on-event ones)",
    ),
    "one of several responsible parties unknown": (
        _set("conditions[3].responsible", ["WSE-ESF", "WSE"]),
        "conditions[3].responsible[1]",
        "'WSE' is not a party of this authorisation",
    ),
    "a party listed twice as responsible": (
        _set("conditions[3].responsible", ["AII", "AII"]),
        "conditions[3].responsible[1]",
        "'AII' listed twice",
    ),
    "owed to a party code that is no party": (
        _set("conditions[0].owed_to", "CBPL"),
        "conditions[0].owed_to[0]",
        "'CBPL' is not a party of this authorisation (name a body outside it in words)",
    ),
    "a gate owed to a party that is no security consultant": (
        _set("conditions[1].owed_to", ["KBI-SC", "VTC"]),
        "conditions[1].owed_to[1]",
        "'VTC' is not a security-consultant party: a sample-gate is owed to consultants",
    ),
    "owed twice to one body": (
        _set("conditions[0].owed_to", ["VTC", "VTC"]),
        "conditions[0].owed_to[1]",
        "'VTC' listed twice",
    ),
    "a gate for a purpose that is not the authorisation's": (
        _set("conditions[1].purposes", ["werkbemiddeling"]),
        "conditions[1].purposes[0]",
        "'werkbemiddeling' is not a purpose of this authorisation",
    ),
    "purposes on a condition that gates nothing": (
        _set("conditions[0].purposes", ["amif-eligibility"]),
        "conditions[0].purposes",
        "a deadline condition has no purposes (only sample-gate ones)",
    ),
    "two sample-gates": (
        lambda doc: doc["conditions"].append({**doc["conditions"][1], "id": "second-gate"}),
        "conditions[8].kind",
        "an authorisation has at most one sample-gate",
    ),
    "an onward-disclosure exception without its description": (
        lambda doc: doc["onward_disclosure"]["exceptions"][0].pop("description"),
        "onward_disclosure.exceptions[0].description",
        "required",
    ),
    "onward disclosure neither a rule nor a mapping": (
        _set("onward_disclosure", ["aggregated-only"]),
        "onward_disclosure",
        "a rule (an id) or a mapping with rule and exceptions",
    ),
    "an unknown relation to another decision": (
        _set("related[0].relation", "replaces"),
        "related[0].relation",
        "must be one of depends-on, pending-transfer, source-of",
    ),
    "a kind of data subject not in the vocabulary": (
        _set("flows[0].data_subjects", ["amif-deelnemer", "inburgeraars"]),
        "flows[0].data_subjects[1]",
        "unknown kind of data subject 'inburgeraars'; declare it in a taxonomy document's data_subjects",
    ),
    "bad duration": (_set("conditions[2].every", "yearly"), "conditions[2].every", "not an ISO 8601 duration"),
    "gate on a deadline": (
        _set("conditions[0].effect", "gate"),
        "conditions[0].effect",
        "only a sample-gate condition has effect gate",
    ),
    "sample-gate without consultant": (
        lambda doc: doc.update(
            parties=doc["parties"][:5], conditions=[{**c, "owed_to": []} for c in doc["conditions"]]
        ),
        "conditions[1].kind",
        "a sample-gate needs a party with role security-consultant",
    ),
    "paragraphs of an unknown key": (
        _set("paragraphs.valid_till", [99]),
        "paragraphs.valid_till",
        "not a key of this document",
    ),
}


@pytest.mark.parametrize("case", INVALID_SEEDS, ids=list(INVALID_SEEDS))
def test_invalid_document_names_file_and_field_and_writes_nothing(
    case: str, seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    mutate, path, message = INVALID_SEEDS[case]
    mutate(seed_document)
    file = write_yaml(tmp_path, "bad.yaml", seed_document)
    before = dump_tables(seeded)

    result = run_cli("apply", str(POLICIES / "organisations.yaml"), str(POLICIES / "taxonomy.yaml"), str(file))

    assert result.exit_code == 2, result.output
    assert f"error: {file}: {path}: {message}" in result.stderr
    assert result.stdout == ""
    assert dump_tables(seeded) == before


def test_organisation_declared_twice_with_different_names_is_rejected(
    seeded: Engine, seed_document: dict[str, Any], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seed_document["parties"][2]["name"] = "WSE, ESF"
    file = write_yaml(tmp_path, "renamed.yaml", seed_document)
    before = dump_tables(seeded)

    result = run_cli("apply", str(POLICIES / "organisations.yaml"), str(file))

    assert result.exit_code == 2
    assert (
        f"error: {file}: parties[2].name: 'WSE, ESF' differs from the name of WSE-ESF in "
        f"{POLICIES / 'organisations.yaml'}: organisations[2].name: 'Departement WSE, afdeling ESF'"
    ) in result.stderr
    assert dump_tables(seeded) == before


def test_two_documents_of_one_batch_may_not_name_a_new_organisation_differently(seed_document: dict[str, Any]) -> None:
    taxonomy = read_paths([POLICIES / "taxonomy.yaml"])
    other = dict(seed_document, id="vtc-other")
    other["parties"] = [dict(p) for p in seed_document["parties"]]
    other["parties"][3]["name"] = "HB Plus"
    with pytest.raises(Invalid) as caught:
        merge(Context(), [*taxonomy, parse(seed_document, "a.yaml"), parse(other, "b.yaml")])
    assert [str(p) for p in caught.value.problems] == [
        "b.yaml: parties[3].name: 'HB Plus' differs from the name of HBPLUS in a.yaml: parties[3].name: 'HBplus'"
    ]


def test_a_rename_must_carry_the_stored_authorisations_along(
    seeded: Engine, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    organisations = read_paths([POLICIES / "organisations.yaml"])[0].canonical()
    organisations["organisations"][4]["name"] = "Real Dolmen NV"
    file = write_yaml(tmp_path, "organisations.yaml", organisations)
    result = run_cli("apply", str(file))
    assert result.exit_code == 2
    assert (
        f"{file}: organisations[4].name: stored authorisation vtc-2017-amif-aii-wse names REALDOLMEN "
        "'Real Dolmen nv'; apply it in the same batch"
    ) in result.stderr


@pytest.mark.parametrize(
    ("entries", "path", "message"),
    [
        (
            [{"id": "GEM-X", "name": "X", "member_of": ["GEM-GENT"]}],
            "organisations[0].member_of[0]",
            "GEM-GENT is not a group",
        ),
        (
            [{"id": "GEM-X", "name": "X", "member_of": ["NOPE"]}],
            "organisations[0].member_of[0]",
            "unknown organisation 'NOPE'",
        ),
        (
            [
                {"id": "G1", "name": "G1", "kind": "group", "member_of": ["G2"]},
                {"id": "G2", "name": "G2", "kind": "group", "member_of": ["G1"]},
            ],
            "organisations[0]",
            "group membership cycle: G1 → G2 → G1",
        ),
        (
            [{"id": "G1", "name": "G1"}, {"id": "G1", "name": "G1"}],
            "organisations[1].id",
            "duplicate id 'G1' (also organisations[0])",
        ),
    ],
)
def test_invalid_organisations(entries: list[dict[str, Any]], path: str, message: str) -> None:
    base = read_paths([POLICIES / "organisations.yaml"])
    with pytest.raises(Invalid) as caught:
        merge(Context(), [*base, parse({"organisations": entries}, "orgs.yaml")])
    assert f"orgs.yaml: {path}: {message}" in [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("entries", "path", "message"),
    [
        ([{"id": "x", "label": "X", "parent": "nope"}], "taxonomy[0].parent", "unknown category 'nope'"),
        (
            [{"id": "a", "label": "A", "parent": "b"}, {"id": "b", "label": "B", "parent": "a"}],
            "taxonomy[0]",
            "category cycle: a → b → a",
        ),
        (
            [{"id": "naam", "label": "Achternaam", "parent": "officiele-personalia"}],
            "taxonomy[0]",
            "category 'naam' is declared differently",
        ),
    ],
)
def test_invalid_taxonomy(entries: list[dict[str, Any]], path: str, message: str) -> None:
    base = read_paths([POLICIES / "taxonomy.yaml"])
    with pytest.raises(Invalid) as caught:
        merge(Context(), [*base, parse({"taxonomy": entries}, "tax.yaml")])
    assert any(str(p).startswith(f"tax.yaml: {path}: {message}") for p in caught.value.problems), caught.value.problems


def test_every_problem_of_a_document_is_reported_at_once(seed_document: dict[str, Any]) -> None:
    seed_document["status"] = "paused"
    seed_document["conditions"][0]["due_on"] = "30/11/2017"
    with pytest.raises(Invalid) as caught:
        parse(seed_document, "seed.yaml")
    assert sorted(str(p) for p in caught.value.problems) == [
        "seed.yaml: conditions[0].due_on: not a date",
        "seed.yaml: status: must be one of active, suspended, revoked",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: a\nid: b\n", "key 'id' given twice"),
        ("- just\n- a list\n", "not a mapping"),
        ("colour: blue\n", "neither an authorisation"),
        ("id: [unclosed\n", "not valid YAML"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "odd.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(Invalid) as caught:
        read_paths([file])
    assert message in str(caught.value)
    assert str(file) in str(caught.value)


def test_folders_are_read_except_decision_tables_under_tests(tmp_path: Path, seed_document: dict[str, Any]) -> None:
    write_yaml(tmp_path, "a.yaml", seed_document)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "table.yaml").write_text("cases: []\n", encoding="utf-8")
    assert [d.source for d in read_paths([tmp_path])] == [str(tmp_path / "a.yaml")]


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no such file or folder"):
        read_paths([tmp_path / "nope.yaml"])


def test_the_same_authorisation_twice_in_a_batch_is_an_error(tmp_path: Path, seed_document: dict[str, Any]) -> None:
    write_yaml(tmp_path, "a.yaml", seed_document)
    write_yaml(tmp_path, "b.yaml", seed_document)
    with pytest.raises(Invalid, match=r"b\.yaml: id: authorisation 'vtc-2017-amif-aii-wse' also in .*a\.yaml"):
        read_paths([tmp_path])


def test_more_users_than_max_users_is_a_warning_not_an_error(seed_document: dict[str, Any]) -> None:
    seed_document["max_users"] = 1
    documents = [
        *read_paths([POLICIES / "organisations.yaml", POLICIES / "taxonomy.yaml"]),
        parse(seed_document, "s.yaml"),
    ]
    merged = merge(Context(), documents)
    assert [str(w) for w in merged.warnings] == ["s.yaml: authorised_users: 2 users listed, max_users is 1"]


def test_a_user_of_a_member_of_a_group_party_is_accepted(seed_document: dict[str, Any]) -> None:
    seed_document["parties"].append({"id": "GEMEENTEN", "name": "Vlaamse gemeenten", "role": "recipient"})
    seed_document["authorised_users"][0]["organisation"] = "GEM-GENT"
    documents = [*read_paths([POLICIES]), parse(seed_document, "s.yaml")]
    documents = [d for d in documents if d.source != str(POLICIES / "authorisations" / "vtc-2017-amif-aii-wse.yaml")]
    assert merge(Context(), documents).warnings == []
