"""``authreg export AUTH --format odrl`` (issue 13, item 4): an authorisation as W3C ODRL 2.2 in
JSON-LD, read back as RDF by rdflib (a parser this project did not write, offline: the context
is in the document), with as many permissions, constraints and duties as the authorisation has
flows, limits and conditions; on the seed and on generated registries. The days a permission
grants follow the recorded status changes; the DPV terms it uses are checked against DPV 2.2's
own files where a copy of them is at hand."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import rdflib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib.collection import Collection
from sqlalchemy import Engine

from authreg.domain import yaml_input
from authreg.services import odrl
from tests.conftest import POLICIES, SEED_ID, generated_registry, write_yaml

Cli = Callable[..., Any]
ODRL = rdflib.Namespace("http://www.w3.org/ns/odrl/2/")
DPV = rdflib.Namespace("https://w3id.org/dpv#")
PD = rdflib.Namespace("https://w3id.org/dpv/pd#")
AUTH = f"urn:authreg:authorisation:{SEED_ID}"
FLOW = rdflib.URIRef(f"{AUTH}:flow:aii-to-esf")
# W3C's DPV repository (https://github.com/w3c/dpv): a checkout, or the git directory of a clone
DPV_REPO = Path(os.environ.get("DPV_REPO", "/work/.mirror/w3c+dpv/repo"))


def org(key: str) -> rdflib.URIRef:
    return rdflib.URIRef(f"urn:authreg:organisation:{key}")


def read(document: dict[str, Any]) -> rdflib.Graph:
    with warnings.catch_warnings():  # rdflib 7's JSON-LD parser still makes a ConjunctiveGraph
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return rdflib.Graph().parse(data=json.dumps(document), format="json-ld")


def exported(run_cli: Cli) -> tuple[dict[str, Any], rdflib.Graph]:
    printed = run_cli("export", SEED_ID, "--format", "odrl")
    assert printed.exit_code == 0, printed.stderr
    document = json.loads(printed.stdout)
    return document, read(document)


def written(document: dict[str, Any]) -> dict[str, int]:
    """The same counts in the JSON itself: a node written twice under one id is one in RDF."""
    duties = [d for p in document["permission"] for d in p.get("duty", [])] + document["obligation"]
    return {
        "permissions": len(document["permission"]),
        "permission constraints": sum(len(p["constraint"]) for p in document["permission"]),
        "permission duties": sum(len(p.get("duty", [])) for p in document["permission"]),
        "obligations": len(document["obligation"]),
        "duty constraints": sum(len(d.get("constraint", [])) for d in duties),
    }


def counted(graph: rdflib.Graph) -> dict[str, int]:
    """Permissions, their constraints and duties, the agreement's obligations, and the duties'
    constraints, as RDF has them."""
    permissions = set(graph.objects(None, ODRL.permission))
    duties = {d for p in permissions for d in graph.objects(p, ODRL.duty)}
    obligations = set(graph.objects(None, ODRL.obligation))
    return {
        "permissions": len(permissions),
        "permission constraints": sum(len(set(graph.objects(p, ODRL.constraint))) for p in permissions),
        "permission duties": len(duties),
        "obligations": len(obligations),
        "duty constraints": sum(len(set(graph.objects(d, ODRL.constraint))) for d in duties | obligations),
    }


def constraint(graph: rdflib.Graph, node: rdflib.term.Node) -> tuple[Any, ...]:
    """``(leftOperand, operator, rightOperand)`` in ODRL's local names, or ``("or", ...)``."""
    operands = graph.value(node, ODRL["or"])
    if operands is not None:
        return ("or", *(constraint(graph, item) for item in Collection(graph, operands)))
    right = " ".join(sorted(str(o) for o in graph.objects(node, ODRL.rightOperand)))
    left, operator = (str(graph.value(node, p)).removeprefix(str(ODRL)) for p in (ODRL.leftOperand, ODRL.operator))
    return left, operator, right


def constraints(graph: rdflib.Graph, rule: rdflib.term.Node) -> set[tuple[Any, ...]]:
    return {constraint(graph, node) for node in graph.objects(rule, ODRL.constraint)}


def window(graph: rdflib.Graph, rule: rdflib.term.Node) -> set[tuple[Any, ...]]:
    return {c for c in constraints(graph, rule) if c[0] in ("dateTime", "or")}


def members(graph: rdflib.Graph, party: rdflib.term.Node) -> set[rdflib.term.Node]:
    assert (party, rdflib.RDF.type, ODRL.PartyCollection) in graph
    return set(graph.subjects(ODRL.partOf, party))


def test_the_seed_as_odrl_reads_back_with_its_flows_limits_and_conditions(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any]
) -> None:
    document, graph = exported(run_cli)
    assert written(document) == counted(graph)
    policy = rdflib.URIRef(AUTH)
    assert (policy, rdflib.RDF.type, ODRL.Agreement) in graph
    # one flow: purpose, recipient, from, until; the sample-gate is its duty; 7 other conditions
    # and the deletion at the end of retention (the notice of the end of validity is no duty),
    # two with a due day, two with a trigger and a relative deadline
    assert counted(graph) == {
        "permissions": 1,
        "permission constraints": 4,
        "permission duties": 1,
        "obligations": 8,
        "duty constraints": 6,
    }
    assert set(graph.objects(FLOW, ODRL.action)) == {ODRL.use}
    assert set(graph.objects(FLOW, ODRL.assigner)) == {org("AII")}
    assert set(graph.objects(FLOW, ODRL.assignee)) == {org("WSE-ESF")}
    assert {c[0] for c in constraints(graph, FLOW)} == {"purpose", "recipient", "dateTime"}
    purposes = set(graph.objects(FLOW, DPV.hasPurpose))
    assert len(purposes) == 2 and all((p, rdflib.RDF.type, DPV.Purpose) in graph for p in purposes)
    deletion = rdflib.URIRef(f"{AUTH}:condition:retention-end")
    assert set(graph.objects(deletion, ODRL.action)) == {ODRL.delete}
    assert len(set(graph.objects(policy, DPV.hasLegalBasis))) == len(seed_document["legal_bases"]) == 19


def test_a_flow_covers_the_dpv_terms_of_its_categories_and_their_children(seeded: Engine, run_cli: Cli) -> None:
    _, graph = exported(run_cli)
    data = set(graph.objects(next(graph.objects(FLOW, ODRL.target)), DPV.hasPersonalData))
    assert {PD.Contact, PD.Family, PD.EmploymentHistory} <= data  # the categories the flow names
    # the flow names officiele-personalia and familiegegevens: the country of birth, the INSZ
    # and the civil status are below them in the taxonomy
    assert {PD.BirthCountry, PD.OfficialID, PD.MaritalStatus, PD.FamilyStructure} <= data
    assert rdflib.URIRef("urn:authreg:category:doelgroep-inburgering") in data  # the registry's own elsewhere
    assert rdflib.URIRef("urn:authreg:category:geboorteland") not in data  # its ids as the flow names them


def test_every_category_term_is_for_a_category_of_the_taxonomy() -> None:
    taxonomy = yaml_input.load((POLICIES / "taxonomy.yaml").read_text(encoding="utf-8"))["taxonomy"]
    assert set(odrl.CATEGORY_TERMS) <= {entry["id"] for entry in taxonomy}


def dpv_turtle(path: str) -> str:
    """One of DPV's files, from a checkout or from a clone's git directory (skipped without)."""
    if (DPV_REPO / path).is_file():
        return (DPV_REPO / path).read_text(encoding="utf-8")
    if not (DPV_REPO / "HEAD").is_file() or shutil.which("git") is None:
        pytest.skip(f"no copy of W3C's DPV repository at {DPV_REPO} (set DPV_REPO)")
    shown = subprocess.run(
        ["git", "--git-dir", str(DPV_REPO), "show", f"HEAD:{path}"], capture_output=True, text=True, check=True
    )
    return shown.stdout


def test_every_dpv_term_used_is_defined_by_dpv_2_2(seeded: Engine, run_cli: Cli) -> None:
    _, graph = exported(run_cli)
    used = {term for triple in graph for term in triple if isinstance(term, rdflib.URIRef)}
    used |= {PD[term.removeprefix("pd:")] for term in odrl.CATEGORY_TERMS.values()}
    files = {str(DPV): ("dpv", "2.2/dpv/dpv.ttl"), str(PD): ("pd", "2.2/pd/pd.ttl")}
    texts = {namespace: (prefix, dpv_turtle(path)) for namespace, (prefix, path) in files.items()}
    checked = 0
    for term in sorted(used):
        namespace, _, local = str(term).rpartition("#")
        if f"{namespace}#" in texts:
            prefix, text = texts[f"{namespace}#"]
            assert re.search(rf"^{prefix}:{local} a ", text, re.MULTILINE), f"{term} is not in DPV 2.2"
            checked += 1
    assert checked >= len(set(odrl.CATEGORY_TERMS.values())) + 6  # and the classes and properties


def test_a_flow_without_an_end_has_no_upper_limit(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Any
) -> None:
    del seed_document["valid_until"]
    seed_document["paragraphs"].pop("valid_until")
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    graph = read(json.loads(run_cli("export", SEED_ID).stdout))
    assert counted(graph)["permission constraints"] == 3


def test_each_flow_is_a_permission_with_its_own_window(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Any
) -> None:
    second = {**seed_document["flows"][0], "id": "tweede", "purposes": ["amif-indicators"]}
    second["valid_until"] = "2020-12-31"
    seed_document["flows"].append(second)
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    document, graph = exported(run_cli)
    assert (
        written(document)
        == counted(graph)
        == {
            "permissions": 2,
            "permission constraints": 8,
            "permission duties": 2,  # the gate holds for both purposes, so for both flows
            "obligations": 8,
            "duty constraints": 6,
        }
    )
    assert window(graph, rdflib.URIRef(f"{AUTH}:flow:tweede")) == {
        ("dateTime", "gteq", "2017-09-13"),
        ("dateTime", "lteq", "2020-12-31"),
    }


# Status changes as recorded (kind, day) and the days the seed's flow then grants (it runs
# 2017-09-13 until 2023-06-30): an authorisation that no longer grants does not read as granting.
CHANGES = {
    "revoked": ([("revoke", "2019-01-01")], [("gteq", "2017-09-13"), ("lteq", "2018-12-31")]),
    "suspended": ([("suspend", "2019-01-01")], [("gteq", "2017-09-13"), ("lteq", "2018-12-31")]),
    "reinstated": (
        [("suspend", "2019-01-01"), ("reinstate", "2019-06-01")],
        [("gteq", "2017-09-13"), ("lteq", "2023-06-30"), ("lteq", "2018-12-31", "gteq", "2019-06-01")],
    ),
    "suspended for no day": (
        [("suspend", "2019-01-01"), ("reinstate", "2019-01-01")],
        [("gteq", "2017-09-13"), ("lteq", "2023-06-30")],
    ),
    # revoked the day it began: never in force, its window closes the day before it opens
    "never in force": ([("revoke", "2017-09-13")], [("gteq", "2017-09-13"), ("lteq", "2017-09-12")]),
}


def days(*expected: tuple[str, ...]) -> set[tuple[Any, ...]]:
    def one(operator: str, day: str) -> tuple[str, str, str]:
        return "dateTime", operator, day

    return {one(*e) if len(e) == 2 else ("or", one(*e[:2]), one(*e[2:])) for e in expected}


@pytest.mark.parametrize("case", list(CHANGES))
def test_a_permission_grants_only_the_days_the_authorisation_is_in_force(
    seeded: Engine, run_cli: Cli, case: str
) -> None:
    changes, expected = CHANGES[case]
    for kind, day in changes:
        assert run_cli(kind, SEED_ID, "--on", day, "--reason", "onderzoek").exit_code == 0
    document, graph = exported(run_cli)
    assert written(document) == counted(graph)
    assert counted(graph)["permissions"] == 1
    assert window(graph, FLOW) == days(*expected)


def test_a_replaced_authorisation_grants_until_its_successor_begins(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    successor = dict(seed_document, id="vtc-2020-amif-aii-wse", decided_on="2019-12-01", valid_from="2020-01-01")
    successor.update(replaces=[SEED_ID], reference="VTC beraadslaging 2019 (AMIF, vervolg)")
    assert run_cli("apply", str(write_yaml(tmp_path, "successor.yaml", successor))).exit_code == 0
    _, graph = exported(run_cli)
    assert window(graph, FLOW) == days(("gteq", "2017-09-13"), ("lteq", "2019-12-31"))


def test_a_duty_is_imposed_by_the_authority_on_one_party_or_a_collection(seeded: Engine, run_cli: Cli) -> None:
    _, graph = exported(run_cli)
    duties = set(graph.objects(None, ODRL.obligation)) | set(graph.objects(None, ODRL.duty))
    assert len(duties) == 9
    for duty in duties:
        assert list(graph.objects(duty, ODRL.assigner)) == [org("VTC")], duty
        assert len(list(graph.objects(duty, ODRL.assignee))) == 1, duty
    owed_by_both = graph.value(rdflib.URIRef(f"{AUTH}:condition:notice-art9"), ODRL.assignee)
    assert members(graph, owed_by_both) == {org("WSE-ESF"), org("AII")}
    security_plan = rdflib.URIRef(f"{AUTH}:condition:security-plan")
    assert set(graph.objects(security_plan, ODRL.assignee)) == {org("AII")}


def test_the_registry_s_own_action_is_defined_by_the_profile_the_policy_declares(seeded: Engine, run_cli: Cli) -> None:
    _, graph = exported(run_cli)
    profile = rdflib.URIRef(odrl.PROFILE)
    assert set(graph.objects(rdflib.URIRef(AUTH), ODRL.profile)) == {profile}
    actions = set(graph.objects(None, ODRL.action))
    own = {action for action in actions if not str(action).startswith(str(ODRL))}
    assert own == {rdflib.URIRef(odrl.FULFIL)}
    for action in own:
        assert (action, rdflib.RDF.type, ODRL.Action) in graph
        assert set(graph.objects(action, ODRL.includedIn)) == {ODRL.use}
        assert set(graph.objects(action, rdflib.RDFS.isDefinedBy)) == {profile}


def test_a_condition_that_gates_or_suspends_use_is_a_duty_of_each_permission_it_concerns(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    seed_document["flows"].append({**seed_document["flows"][0], "id": "tweede", "purposes": ["amif-indicators"]})
    conditions = {condition["id"]: condition for condition in seed_document["conditions"]}
    conditions["samples-communicated"]["purposes"] = ["amif-eligibility"]  # the gate: for one purpose
    conditions["security-plan"]["effect"] = "suspend"  # overdue, it suspends the authorisation
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    document, graph = exported(run_cli)
    assert written(document) == counted(graph)

    def duties(flow: str) -> set[str]:
        found = graph.objects(rdflib.URIRef(f"{AUTH}:flow:{flow}"), ODRL.duty)
        return {str(duty).rpartition(":condition:")[2] for duty in found}

    assert duties("aii-to-esf") == {"samples-communicated", "security-plan"}
    assert duties("tweede") == {"security-plan"}
    obligations = {str(duty).rpartition(":")[2] for duty in graph.objects(None, ODRL.obligation)}
    assert len(obligations) == 7 and not obligations & {"samples-communicated", "security-plan"}
    gate = rdflib.URIRef(f"{AUTH}:flow:aii-to-esf:condition:samples-communicated")
    assert set(graph.objects(gate, ODRL.action)) == {ODRL.inform}
    assert members(graph, graph.value(gate, ODRL.informedParty)) == {org("KBI-SC"), org("AII-SC")}
    assert constraints(graph, gate) == {("purpose", "isAnyOf", f"{AUTH}:purpose:amif-eligibility")}


def test_a_condition_s_recurrence_and_relative_deadline_are_xsd_durations(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    conditions = {condition["id"]: condition for condition in seed_document["conditions"]}
    conditions["rrn-user-list"]["every"] = "P2W"  # xsd:duration has no weeks
    conditions["processor-agreement-hbplus"]["within"] = "P1M"
    conditions["samples-communicated"]["within"] = "P1Y3D"
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    _, graph = exported(run_cli)

    def durations(uid: str) -> set[tuple[str, str, rdflib.Literal]]:
        found = (graph.value(c, ODRL.rightOperand) for c in graph.objects(rdflib.URIRef(uid), ODRL.constraint))
        return {duration for duration in found if isinstance(duration, rdflib.Literal)}

    duration = rdflib.XSD.duration
    assert durations(f"{AUTH}:condition:rrn-user-list") == {rdflib.Literal("P14D", datatype=duration)}
    assert constraints(graph, rdflib.URIRef(f"{AUTH}:condition:rrn-user-list")) == {("timeInterval", "eq", "P14D")}
    hbplus = f"{AUTH}:condition:processor-agreement-hbplus"
    assert durations(hbplus) == {rdflib.Literal("P1M", datatype=duration)}
    assert constraints(graph, rdflib.URIRef(hbplus)) == {
        ("event", "gt", f"{AUTH}:event:hbplus-engaged"),  # its clock starts when HBplus is engaged
        ("elapsedTime", "lteq", "P1M"),
    }
    gate = f"{AUTH}:flow:aii-to-esf:condition:samples-communicated"
    assert durations(gate) == {rdflib.Literal("P1Y3D", datatype=duration)}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict[str, dict[str, Any]]]:
    return generated_registry(tmp_path_factory.mktemp("odrl"), size=20, seed=23)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=19))
def test_on_generated_registries_the_counts_survive_the_round_trip(
    generated: tuple[Engine, dict[str, dict[str, Any]]], index: int
) -> None:
    engine, bodies = generated
    key = sorted(bodies)[index]
    body = bodies[key]
    document = odrl.policy(engine, key)
    graph = read(document)
    assert written(document) == counted(graph)
    # one flow each; its purposes, its recipient, its window; the notice of its end is no duty
    assert counted(graph) == {
        "permissions": 1,
        "permission constraints": 4,
        "permission duties": 0,
        "obligations": 0,
        "duty constraints": 0,
    }
    flow = rdflib.URIRef(f"urn:authreg:authorisation:{key}:flow:flow")
    assert window(graph, flow) == days(
        ("gteq", body["valid_from"].isoformat()), ("lteq", body["valid_until"].isoformat())
    )
    assert body["valid_until"] - body["valid_from"] >= timedelta(days=30)


def test_an_unknown_authorisation_is_an_error(seeded: Engine, run_cli: Cli) -> None:
    missing = run_cli("export", "vtc-1999-nothing")
    assert missing.exit_code != 0 and missing.stderr == "error: no authorisation 'vtc-1999-nothing'\n"
