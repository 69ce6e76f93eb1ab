"""An authorisation as a W3C ODRL 2.2 policy in JSON-LD, with the W3C Data Privacy Vocabulary
(DPV) where it has terms: for other systems to read what the registry decides by.

One ``Agreement`` per authorisation. Each flow is a permission to use its data: assigner the
discloser, assignee the recipient, the data categories as the target (``dpv:hasPersonalData``),
constrained to its purposes, its recipient and its validity window. Each condition is a duty of
the agreement (``obligation``), owed by its responsible parties, with the day it is due where
it has one; the deletion at the end of the retention period is ``odrl:delete``, a sample-gate
``odrl:inform``, any other ``urn:authreg:action:fulfil``; the notice of the end of the validity
is no duty. The context is written out in the document, not fetched, so a reader needs no
network. The registry's own ids are URNs (``urn:authreg:...``); a category of the seed's
taxonomy that DPV's personal data extension names is given that term too (``CATEGORY_TERMS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from authreg.domain.conditions import ConditionSpec
from authreg.domain.documents import flow_window
from authreg.storage import fact_rows, registry_rows
from authreg.storage.sessions import reading

CONTEXT: dict[str, Any] = {
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "dpv": "https://w3id.org/dpv#",
    "pd": "https://w3id.org/dpv/pd#",
    "dcterms": "http://purl.org/dc/terms/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "uid": "@id",
    "type": "@type",
    "permission": {"@id": "odrl:permission", "@container": "@set"},
    "obligation": {"@id": "odrl:obligation", "@container": "@set"},
    "constraint": {"@id": "odrl:constraint", "@container": "@set"},
    "target": {"@id": "odrl:target", "@type": "@id"},
    "assigner": {"@id": "odrl:assigner", "@type": "@id"},
    "assignee": {"@id": "odrl:assignee", "@type": "@id"},
    "action": {"@id": "odrl:action", "@type": "@vocab"},
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
# Categories of the seed's taxonomy (policies/taxonomy.yaml) that DPV's personal data extension
# (https://w3id.org/dpv/pd, version 2.2) has a term for.
CATEGORY_TERMS = {
    "naam": "pd:Name",
    "voornamen": "pd:Name",
    "geslacht": "pd:Gender",
    "leeftijd": "pd:Age",
    "geboortedatum": "pd:BirthDate",
    "geboorteplaats": "pd:BirthPlace",
    "nationaliteit": "pd:Nationality",
    "contactgegevens": "pd:Contact",
    "officieel-adres": "pd:PhysicalAddress",
    "familiegegevens": "pd:Family",
    "burgerlijke-staat": "pd:MaritalStatus",
    "talenkennis": "pd:Language",
    "scholingsniveau": "pd:EducationQualification",
    "opleidingen": "pd:Education",
    "loopbaan": "pd:EmploymentHistory",
    "gezondheid": "pd:Health",
}
# ODRL's actions for a duty where it has one; any other duty is the registry's own action
# ``urn:authreg:action:fulfil`` (ODRL lets a profile add actions), its description saying what
_ACTIONS = {"deletion": "delete", "sample-gate": "inform"}


def _urn(*parts: str) -> str:
    return "urn:authreg:" + ":".join(parts)


def _day(value: Any) -> dict[str, str]:
    return {"@value": str(value), "@type": "xsd:date"}


def policy(engine: Engine, authorisation: str) -> dict[str, Any]:
    """The authorisation's current version as an ODRL policy (NotFound for an unknown id)."""
    with reading(engine) as session:
        body = registry_rows.stored_document(session, authorisation)
        facts = fact_rows.facts(session, [authorisation])
    conditions = facts[0].conditions if facts else ()
    return as_policy(body, conditions)


def as_policy(body: Mapping[str, Any], conditions: tuple[ConditionSpec, ...]) -> dict[str, Any]:
    key = body["id"]
    purposes = {p["id"]: p for p in body["purposes"]}
    return {
        "@context": CONTEXT,
        "uid": _urn("authorisation", key),
        "type": "Agreement",
        "identifier": body["reference"],
        "title": body["title"],
        "issued": _day(body["decided_on"]),
        "creator": _urn("organisation", body["authority"]),
        "hasLegalBasis": [
            {
                "uid": _urn("authorisation", key, "legal-basis", b["id"]),
                "type": "dpv:LegalBasis",
                "description": b["citation"],
            }
            for b in body.get("legal_bases", ())
        ],
        "permission": [_permission(key, body, flow, purposes) for flow in body["flows"]],
        "obligation": [_duty(key, condition) for condition in conditions if condition.kind != "ending"],
    }


def _permission(
    key: str, body: Mapping[str, Any], flow: Mapping[str, Any], purposes: Mapping[str, Any]
) -> dict[str, Any]:
    recipient = _urn("organisation", flow["to"])
    start, end = flow_window(body, flow)
    window = [{"leftOperand": "dateTime", "operator": "gteq", "rightOperand": _day(start)}]
    if end:
        window.append({"leftOperand": "dateTime", "operator": "lteq", "rightOperand": _day(end)})
    return {
        "uid": _urn("authorisation", key, "flow", flow["id"]),
        "target": {
            "uid": _urn("authorisation", key, "flow", flow["id"], "data"),
            "type": ["AssetCollection", "dpv:PersonalData"],
            "hasPersonalData": [
                term
                for category in flow["data_categories"]
                for term in (
                    _urn("category", category),
                    *((CATEGORY_TERMS[category],) if category in CATEGORY_TERMS else ()),
                )
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
            {
                "leftOperand": "purpose",
                "operator": "isAnyOf",
                "rightOperand": [{"@id": _urn("authorisation", key, "purpose", p)} for p in flow["purposes"]],
            },
            {"leftOperand": "recipient", "operator": "eq", "rightOperand": {"@id": recipient}},
            *window,
        ],
    }


def _duty(key: str, condition: ConditionSpec) -> dict[str, Any]:
    duty: dict[str, Any] = {
        "uid": _urn("authorisation", key, "condition", condition.id),
        "action": _ACTIONS.get(condition.kind, _urn("action", "fulfil")),
        "assignee": [_urn("organisation", party) for party in condition.responsible],
        "description": condition.description,
    }
    if condition.due_on is not None:
        duty["constraint"] = [{"leftOperand": "dateTime", "operator": "lteq", "rightOperand": _day(condition.due_on)}]
    return duty
