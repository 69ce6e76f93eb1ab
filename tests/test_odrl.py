"""``authreg export AUTH --format odrl`` (issue 13, item 4): an authorisation as W3C ODRL 2.2 in
JSON-LD, read back as RDF by rdflib (a parser this project did not write, offline: the context
is in the document), with as many permissions, constraints and duties as the authorisation has
flows, limits and conditions; on the seed and on generated registries."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import rdflib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from authreg.services import odrl
from tests.conftest import SEED_ID, generated_registry, write_yaml

Cli = Callable[..., Any]
ODRL = rdflib.Namespace("http://www.w3.org/ns/odrl/2/")
DPV = rdflib.Namespace("https://w3id.org/dpv#")
PD = rdflib.Namespace("https://w3id.org/dpv/pd#")


def read(document: dict[str, Any]) -> rdflib.Graph:
    with warnings.catch_warnings():  # rdflib 7's JSON-LD parser still makes a ConjunctiveGraph
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return rdflib.Graph().parse(data=json.dumps(document), format="json-ld")


def written(document: dict[str, Any]) -> dict[str, int]:
    """The same counts in the JSON itself: a node written twice under one id is one in RDF."""
    return {
        "permissions": len(document["permission"]),
        "permission constraints": sum(len(p["constraint"]) for p in document["permission"]),
        "duties": len(document["obligation"]),
        "duty constraints": sum(len(d.get("constraint", [])) for d in document["obligation"]),
    }


def counted(graph: rdflib.Graph) -> dict[str, int]:
    """Permissions, their constraints, duties and theirs, as RDF has them."""
    permissions = set(graph.objects(None, ODRL.permission))
    duties = set(graph.objects(None, ODRL.obligation))
    return {
        "permissions": len(permissions),
        "permission constraints": sum(len(set(graph.objects(p, ODRL.constraint))) for p in permissions),
        "duties": len(duties),
        "duty constraints": sum(len(set(graph.objects(d, ODRL.constraint))) for d in duties),
    }


def test_the_seed_as_odrl_reads_back_with_its_flows_limits_and_conditions(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any]
) -> None:
    printed = run_cli("export", SEED_ID, "--format", "odrl")
    assert printed.exit_code == 0, printed.stderr
    document = json.loads(printed.stdout)
    graph = read(document)
    assert written(document) == counted(graph)
    policy = rdflib.URIRef(f"urn:authreg:authorisation:{SEED_ID}")
    assert (policy, rdflib.RDF.type, ODRL.Agreement) in graph
    # one flow: purpose, recipient, from, until; 8 conditions and the deletion at the end of
    # retention (the notice of the end of validity is no duty), two of them with a due day
    assert counted(graph) == {"permissions": 1, "permission constraints": 4, "duties": 9, "duty constraints": 2}
    flow = rdflib.URIRef(f"urn:authreg:authorisation:{SEED_ID}:flow:aii-to-esf")
    assert set(graph.objects(flow, ODRL.action)) == {ODRL.use}
    assert set(graph.objects(flow, ODRL.assigner)) == {rdflib.URIRef("urn:authreg:organisation:AII")}
    assert set(graph.objects(flow, ODRL.assignee)) == {rdflib.URIRef("urn:authreg:organisation:WSE-ESF")}
    operands = {str(o) for c in graph.objects(flow, ODRL.constraint) for o in graph.objects(c, ODRL.leftOperand)}
    assert operands == {str(ODRL.purpose), str(ODRL.recipient), str(ODRL.dateTime)}
    purposes = set(graph.objects(flow, DPV.hasPurpose))
    assert len(purposes) == 2 and all((p, rdflib.RDF.type, DPV.Purpose) in graph for p in purposes)
    data = set(graph.objects(next(graph.objects(flow, ODRL.target)), DPV.hasPersonalData))
    assert {PD.Contact, PD.Family, PD.EmploymentHistory} <= data  # DPV's terms where it has them
    assert rdflib.URIRef("urn:authreg:category:doelgroep-inburgering") in data  # the registry's own elsewhere
    deletion = rdflib.URIRef(f"urn:authreg:authorisation:{SEED_ID}:condition:retention-end")
    assert set(graph.objects(deletion, ODRL.action)) == {ODRL.delete}
    assert len(set(graph.objects(policy, DPV.hasLegalBasis))) == len(seed_document["legal_bases"]) == 19


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
    document = json.loads(run_cli("export", SEED_ID).stdout)
    graph = read(document)
    assert (
        written(document)
        == counted(graph)
        == {
            "permissions": 2,
            "permission constraints": 8,
            "duties": 9,
            "duty constraints": 2,
        }
    )
    flow = rdflib.URIRef(f"urn:authreg:authorisation:{SEED_ID}:flow:tweede")
    until = {
        str(graph.value(c, ODRL.rightOperand))
        for c in graph.objects(flow, ODRL.constraint)
        if graph.value(c, ODRL.operator) == ODRL.lteq
    }
    assert until == {"2020-12-31"}


def test_an_unknown_authorisation_is_an_error(seeded: Engine, run_cli: Cli) -> None:
    missing = run_cli("export", "vtc-1999-nothing")
    assert missing.exit_code != 0 and missing.stderr == "error: no authorisation 'vtc-1999-nothing'\n"


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
    assert counted(graph) == {"permissions": 1, "permission constraints": 4, "duties": 0, "duty constraints": 0}
    flow = rdflib.URIRef(f"urn:authreg:authorisation:{key}:flow:flow")
    ends = {
        str(o.value)
        for c in graph.objects(flow, ODRL.constraint)
        for o in graph.objects(c, ODRL.rightOperand)
        if isinstance(o, rdflib.Literal)
    }
    assert ends == {body["valid_from"].isoformat(), (body["valid_until"]).isoformat()}
    assert body["valid_until"] - body["valid_from"] >= timedelta(days=30)
