"""An authorisation as a W3C ODRL 2.2 policy in JSON-LD, with the W3C Data Privacy Vocabulary
(DPV) where it has terms: for other systems to read what the registry decides by.

One ``Agreement`` per authorisation, its current version as the recorded facts stand. Each flow
is a permission to ``use`` its data: assigner the discloser, assignee the recipient, the data
categories as the target (``dpv:hasPersonalData``: the registry's ids as the flow names them,
and DPV's term for each category they cover, the taxonomy's children included, since a reader
of DPV does not know the taxonomy), constrained to its purposes, its recipient and the days it
grants. Those days are the flow's window cut to the days the authorisation is in force
(``lifecycle.in_force_periods``): a revocation or a replacement ends the window the day
before, a suspension ends it, and a later reinstatement opens it again (the days between are
excluded by an ``or`` of "until" and "from"). An authorisation never in force keeps its
permissions with a window that closes the day before it opens: the policy still says what was
decided, and a reader evaluating it finds it grants nothing. The export is the same whatever
day it is asked, so it needs no day of its own; what is in force on a day is the reader's
evaluation of the ``dateTime`` constraints. Fulfilments do not change the policy: they are the
parties doing their duties, which ODRL states as duties.

Each condition is a duty imposed by the authority (assigner), owed by its responsible parties
(assignee: a ``PartyCollection`` when several owe it), with its due day, its trigger (``event``
``gt``), its relative deadline (``within``: ``elapsedTime`` ``lteq``) and its recurrence
(``every``: ``timeInterval`` ``eq``) as constraints, durations typed ``xsd:duration``. A
condition whose effect bears on use (a sample-gate, or one that suspends the authorisation
while overdue) is a duty of each permission it concerns: a pre-condition of exercising it. Any
other is an ``obligation`` of the agreement. The deletion at the end of the retention period is
``odrl:delete``, a sample-gate ``odrl:inform`` (the consultants it is owed to as
``informedParty``), any other the registry's own ``urn:authreg:action:fulfil``, defined by the
policy's profile (ODRL 2.2 §2.1: a policy using terms ODRL does not define declares a profile);
the notice of the end of the validity is no duty. The context is written out in the document,
not fetched, so a reader needs no network. The registry's own ids are URNs (``urn:authreg:...``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Engine

from authreg.domain.category_tree import Node, category_tree
from authreg.domain.conditions import AuthorisationFacts, ConditionSpec, Interval
from authreg.domain.documents import flow_window
from authreg.domain.durations import parse_duration
from authreg.domain.lifecycle import in_force_periods
from authreg.storage import fact_rows, registry_rows
from authreg.storage.sessions import reading

PROFILE = "urn:authreg:odrl-profile"
FULFIL = "urn:authreg:action:fulfil"
CONTEXT: dict[str, Any] = {
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "dpv": "https://w3id.org/dpv#",
    "pd": "https://w3id.org/dpv/pd#",
    "dcterms": "http://purl.org/dc/terms/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "uid": "@id",
    "type": "@type",
    "profile": {"@id": "odrl:profile", "@type": "@id"},
    "permission": {"@id": "odrl:permission", "@container": "@set"},
    "obligation": {"@id": "odrl:obligation", "@container": "@set"},
    "duty": {"@id": "odrl:duty", "@container": "@set"},
    "constraint": {"@id": "odrl:constraint", "@container": "@set"},
    "or": {"@id": "odrl:or", "@container": "@list"},
    "target": {"@id": "odrl:target", "@type": "@id"},
    "assigner": {"@id": "odrl:assigner", "@type": "@id"},
    "assignee": {"@id": "odrl:assignee", "@type": "@id"},
    "informedParty": {"@id": "odrl:informedParty", "@type": "@id"},
    # a PartyCollection lists its members; RDF has it the other way: each member ``partOf`` it
    "member": {"@reverse": "odrl:partOf", "@type": "@id", "@container": "@set"},
    "action": {"@id": "odrl:action", "@type": "@vocab"},
    "includedIn": {"@id": "odrl:includedIn", "@type": "@vocab"},
    "isDefinedBy": {"@id": "rdfs:isDefinedBy", "@type": "@id"},
    "leftOperand": {"@id": "odrl:leftOperand", "@type": "@vocab"},
    "operator": {"@id": "odrl:operator", "@type": "@vocab"},
    "rightOperand": {"@id": "odrl:rightOperand"},
    "hasPersonalData": {"@id": "dpv:hasPersonalData", "@type": "@id", "@container": "@set"},
    "hasPurpose": {"@id": "dpv:hasPurpose", "@container": "@set"},
    "hasLegalBasis": {"@id": "dpv:hasLegalBasis", "@container": "@set"},
    "title": "dcterms:title",
    "identifier": "dcterms:identifier",
    "description": "dcterms:description",
    "issued": {"@id": "dcterms:issued", "@type": "xsd:date"},
    "creator": {"@id": "dcterms:creator", "@type": "@id"},
    "@vocab": "http://www.w3.org/ns/odrl/2/",
}
# The profile's one action, written into every policy (JSON-LD 1.1 ``@included``) so that a
# reader needs nothing else: ODRL's profile mechanism adds an action as an ``odrl:Action``
# ``includedIn`` an ODRL action.
FULFIL_ACTION = {
    "uid": FULFIL,
    "type": "Action",
    "includedIn": "use",
    "isDefinedBy": PROFILE,
    "description": "Do what the duty's description says: the registry records it as a fulfilment, with evidence.",
}
# Categories of the seed's taxonomy (policies/taxonomy.yaml) that DPV 2.2's personal data
# extension (https://w3id.org/dpv/pd) has a term for; tests/test_odrl.py checks each is defined
# there. A category not here (verblijfsstatus, competenties, trajectgegevens, ...) has none that
# says what it is.
CATEGORY_TERMS = {
    "insz": "pd:OfficialID",
    "naam": "pd:Name",
    "voornamen": "pd:Name",
    "geslacht": "pd:Gender",
    "leeftijd": "pd:Age",
    "geboortedatum": "pd:BirthDate",
    "geboorteplaats": "pd:BirthPlace",
    "geboorteland": "pd:BirthCountry",
    "nationaliteit": "pd:Nationality",
    "contactgegevens": "pd:Contact",
    "officieel-adres": "pd:PhysicalAddress",
    "familiegegevens": "pd:Family",
    "burgerlijke-staat": "pd:MaritalStatus",
    "belgische-identiteitsbewijzen": "pd:OfficialID",
    "buitenlandse-identiteitsbewijzen": "pd:OfficialID",
    "gezinsleden": "pd:Family",
    "gezinslid-naam": "pd:Name",
    "gezinslid-voornaam": "pd:Name",
    "gezinslid-geboortedatum": "pd:BirthDate",
    "positie-gezinshoofd": "pd:FamilyStructure",
    "nationaliteit-ouders": "pd:Nationality",
    "talenkennis": "pd:Language",
    "scholingsniveau": "pd:EducationQualification",
    "opleidingen": "pd:Education",
    "loopbaan": "pd:EmploymentHistory",
    "opleiding-onderwijs": "pd:Education",
}
# ODRL's actions for a duty where it has one; any other duty is ``FULFIL``
_ACTIONS = {"deletion": "delete", "sample-gate": "inform"}
# effects by which a condition bears on use: its duty is one of the permissions'
_BEFORE_USE = ("gate", "suspend")
_DAY = timedelta(days=1)


def _urn(*parts: str) -> str:
    return "urn:authreg:" + ":".join(parts)


def _day(value: Any) -> dict[str, str]:
    return {"@value": str(value), "@type": "xsd:date"}


def _duration(text: str) -> dict[str, str]:
    """A condition's ISO 8601 duration as an ``xsd:duration``, which has no weeks: P2W is P14D."""
    length = parse_duration(text)
    parts = "".join(f"{n}{unit}" for n, unit in ((length.years, "Y"), (length.months, "M"), (length.days, "D")) if n)
    return {"@value": f"P{parts or '0D'}", "@type": "xsd:duration"}


def _constraint(left: str, operator: str, right: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": operator, "rightOperand": right}


def _on(operator: str, day: date) -> dict[str, Any]:
    return _constraint("dateTime", operator, _day(day))


def policy(engine: Engine, authorisation: str) -> dict[str, Any]:
    """The authorisation's current version as an ODRL policy (NotFound for an unknown id)."""
    with reading(engine) as session:
        body = registry_rows.stored_document(session, authorisation)
        (facts,) = fact_rows.facts(session, [authorisation])
        taxonomy = registry_rows.usable_categories(session, authorisation)
    return as_policy(body, facts, taxonomy)


def as_policy(
    body: Mapping[str, Any], facts: AuthorisationFacts, taxonomy: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """``body`` (a stored document) with its facts and the taxonomy its categories are from."""
    key = body["id"]
    authority = _urn("organisation", body["authority"])
    stated = [condition["id"] for condition in body.get("conditions", ())]
    duties = sorted(  # as the document states them, the derived ones after (a stable order)
        (condition for condition in facts.conditions if condition.kind != "ending"),
        key=lambda condition: stated.index(condition.id) if condition.id in stated else len(stated),
    )
    before_use = [condition for condition in duties if condition.effect in _BEFORE_USE]
    in_force = in_force_periods(facts.timeline)
    return {
        "@context": CONTEXT,
        "uid": _urn("authorisation", key),
        "type": "Agreement",
        "profile": PROFILE,
        "identifier": body["reference"],
        "title": body["title"],
        "issued": _day(body["decided_on"]),
        "creator": authority,
        "hasLegalBasis": [
            {
                "uid": _urn("authorisation", key, "legal-basis", b["id"]),
                "type": "dpv:LegalBasis",
                "description": b["citation"],
            }
            for b in body.get("legal_bases", ())
        ],
        "permission": [
            _permission(key, body, flow, in_force, taxonomy) | _duties(key, flow, before_use, authority)
            for flow in body["flows"]
        ],
        "obligation": [
            _duty(key, _urn("authorisation", key, "condition", condition.id), condition, authority)
            for condition in duties
            if condition.effect not in _BEFORE_USE
        ],
        "@included": [FULFIL_ACTION],
    }


def _window(start: date, end: date | None, in_force: Sequence[Interval]) -> list[dict[str, Any]]:
    """The flow's days, from ``start`` until ``end``, that the authorisation is in force, as
    ``dateTime`` constraints; none at all: a window that closes the day before it opens."""
    days = []
    for low, high in in_force:
        first = max(low, start)
        last = min((day for day in (high, end) if day is not None), default=None)
        if last is None or first <= last:
            days.append((first, last))
    if not days:
        days = [(start, start - _DAY)]
    found = [_on("gteq", days[0][0])]
    if days[-1][1] is not None:
        found.append(_on("lteq", days[-1][1]))
    found += [{"or": [_on("lteq", before), _on("gteq", after)]} for (_, before), (after, _) in pairwise(days)]
    return found


def _permission(
    key: str,
    body: Mapping[str, Any],
    flow: Mapping[str, Any],
    in_force: Sequence[Interval],
    taxonomy: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    recipient = _urn("organisation", flow["to"])
    purposes = {p["id"]: p for p in body["purposes"]}
    covered = _covered(category_tree(flow["data_categories"], taxonomy))
    return {
        "uid": _urn("authorisation", key, "flow", flow["id"]),
        "target": {
            "uid": _urn("authorisation", key, "flow", flow["id"], "data"),
            "type": ["AssetCollection", "dpv:PersonalData"],
            "hasPersonalData": [
                *(_urn("category", category) for category in flow["data_categories"]),
                *sorted({CATEGORY_TERMS[category] for category in covered if category in CATEGORY_TERMS}),
            ],
        },
        "assigner": _urn("organisation", flow["from"]),
        "assignee": recipient,
        "action": "use",
        "hasPurpose": [
            {
                "uid": _urn("authorisation", key, "purpose", p),
                "type": "dpv:Purpose",
                "description": purposes[p]["description"],
            }
            for p in flow["purposes"]
            if p in purposes
        ],
        "constraint": [
            _purposes(key, flow["purposes"]),
            _constraint("recipient", "eq", {"@id": recipient}),
            *_window(*flow_window(body, flow), in_force),
        ],
    }


def _covered(nodes: Iterable[Node]) -> Iterator[str]:
    """The categories the trees hold: a flow that grants a category grants its children."""
    for node in nodes:
        yield node.id
        yield from _covered(node.children)


def _purposes(key: str, purposes: Iterable[str]) -> dict[str, Any]:
    return _constraint("purpose", "isAnyOf", [{"@id": _urn("authorisation", key, "purpose", p)} for p in purposes])


def _duties(key: str, flow: Mapping[str, Any], before_use: Iterable[ConditionSpec], authority: str) -> dict[str, Any]:
    """The flow's pre-conditions: a sample-gate where it gates one of the flow's purposes, and
    each condition that suspends the authorisation while overdue. Each permission has its own
    duty node, so RDF keeps one per permission (a shared node would merge their constraints)."""
    found = [
        _duty(key, _urn("authorisation", key, "flow", flow["id"], "condition", condition.id), condition, authority)
        for condition in before_use
        if condition.kind != "sample-gate" or any(condition.gates(purpose) for purpose in flow["purposes"])
    ]
    return {"duty": found} if found else {}


def _duty(key: str, uid: str, condition: ConditionSpec, authority: str) -> dict[str, Any]:
    duty: dict[str, Any] = {
        "uid": uid,
        "action": _ACTIONS.get(condition.kind, FULFIL),
        "assigner": authority,
        "assignee": _parties(f"{uid}:responsible", condition.responsible),
        "description": condition.description,
    }
    if condition.kind == "sample-gate" and condition.owed_to:  # consultant parties (document_format)
        duty["informedParty"] = _parties(f"{uid}:informed", condition.owed_to)
    constraints = []
    if condition.due_on is not None:
        constraints.append(_on("lteq", condition.due_on))
    if condition.trigger is not None:
        constraints.append(_constraint("event", "gt", {"@id": _urn("authorisation", key, "event", condition.trigger)}))
    if condition.within is not None:
        constraints.append(_constraint("elapsedTime", "lteq", _duration(condition.within)))
    if condition.every is not None:
        constraints.append(_constraint("timeInterval", "eq", _duration(condition.every)))
    if condition.purposes:
        constraints.append(_purposes(key, condition.purposes))
    if constraints:
        duty["constraint"] = constraints
    return duty


def _parties(uid: str, parties: Sequence[str]) -> str | dict[str, Any]:
    """One party, or the collection of several: ODRL gives a rule one party per function."""
    if len(parties) == 1:
        return _urn("organisation", parties[0])
    return {"uid": uid, "type": "PartyCollection", "member": [_urn("organisation", party) for party in parties]}
