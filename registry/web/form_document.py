"""The register form: the common fields of an authorisation, for a privacy officer who does not
write YAML, turned into the document the YAML editor would hold (and back).

The form covers a decision of the common shape: an authority, one discloser, one recipient, its
purposes, one flow for all of them, the data categories, the national register number, dates,
and the users. What the form does not show (legal bases, conditions, remarks, paragraphs,
processors and security consultants, a user's profile or place on the number's user list) is
kept as stored when a document is amended through it: a form must never drop a restriction it
cannot show. A document of another shape (several flows, a flow for some purposes only, a
description or name of several lines) is amended in YAML; ``form_values`` says so by answering
None.

The document is then checked and previewed like any other: the form is only a way to write it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# the form's fields, each with the document paths whose problems are shown beside it
FIELD_PATHS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "reference": ("reference",),
    "title": ("title",),
    "authority": ("authority",),
    "decided_on": ("decided_on",),
    "valid_from": ("valid_from",),
    "valid_until": ("valid_until",),
    "retention_until": ("retention_until",),
    "discloser": ("flows[0].from",),
    "recipient": ("flows[0].to",),
    "purposes": ("purposes", "flows[0].purposes"),
    "categories": ("flows[0].data_categories", "taxonomy"),
    "subjects": ("flows[0].data_subjects",),
    "number": ("flows[0].national_register_number",),
    "sensitive": ("sensitive",),
    "frequency": ("frequency",),
    "max_users": ("max_users",),
    "users": ("authorised_users",),
}
ROLE_FIELDS = ("authority", "discloser", "recipient")
_LINE = re.compile(r"\s*\|\s*")


def _roles(party: Mapping[str, Any]) -> list[str]:
    return [party["role"]] if "role" in party else list(party.get("roles", []))


def form_values(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The form's values for a stored document, or None when the form cannot show it whole."""
    flows, purposes = document.get("flows", []), [p["id"] for p in document.get("purposes", [])]
    holders = {role: [p for p in document.get("parties", []) if role in _roles(p)] for role in ROLE_FIELDS}
    if len(flows) != 1 or sorted(flows[0]["purposes"]) != sorted(purposes):
        return None
    if any(len(found) != 1 for found in holders.values()):
        return None
    flow = flows[0]
    if (flow["from"], flow["to"]) != (holders["discloser"][0]["id"], holders["recipient"][0]["id"]):
        return None
    lines = [p["description"] for p in document["purposes"]]
    lines += [text for u in document.get("authorised_users", []) for text in (u["name"], u["organisation"])]
    if any(len(text.splitlines()) != 1 or "|" in text for text in lines):  # one entry a line, fields split by |
        return None
    values: dict[str, Any] = {key: str(document.get(key, "")) for key in FIELD_PATHS if key in document}
    for role in ROLE_FIELDS:
        values[role], values[f"{role}_name"] = holders[role][0]["id"], holders[role][0].get("name", "")
    values["purposes"] = "\n".join(f"{p['id']}: {p['description']}" for p in document["purposes"])
    values["categories"] = list(flow["data_categories"])
    values["subjects"] = ", ".join(flow.get("data_subjects", []))
    values["number"] = bool(flow.get("national_register_number", {}).get("allowed"))
    values["sensitive"] = bool(document.get("sensitive"))
    users = document.get("authorised_users", [])
    values["users"] = "\n".join(f"{u['id']} | {u['organisation']} | {u['name']}" for u in users)
    return values


def document_from_form(
    form: Mapping[str, Any], categories: list[str], stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The document the form describes: the stored one (if amending) with the form's fields
    written over it, everything else kept. Text is passed on as typed: the document's schema
    names what is wrong, and ``problems_by_field`` puts it beside the field."""
    document: dict[str, Any] = dict(stored or {})
    for key in ("id", "reference", "title", "authority", "decided_on", "valid_from"):
        document[key] = form.get(key, "").strip()
    for key in ("valid_until", "retention_until", "frequency", "max_users"):
        value = form.get(key, "").strip()
        if value:
            document[key] = int(value) if key == "max_users" and re.fullmatch(r"[0-9]{1,9}", value) else value
        else:
            document.pop(key, None)
    document["sensitive"] = bool(form.get("sensitive"))
    document["parties"] = _parties(form, document.get("parties", []))
    old = {p["id"]: p for p in document.get("purposes", [])}
    given = _purposes(form.get("purposes", ""))
    document["purposes"] = [{**old.get(key, {}), "id": key, "description": text} for key, text in given]
    document["flows"] = [_flow(form, categories, document)]
    old_users = {u["id"]: u for u in document.get("authorised_users", [])}
    users = [_user(line, old_users) for line in form.get("users", "").splitlines() if line.strip()]
    if any("national_register_number_list" in user for user in old_users.values()):
        # the decision keeps a list of who may use the number (§79-80): a user the form adds is
        # not on it, and removing the last one on it must not lift it for everyone
        users = [{"national_register_number_list": False, **u} if u["id"] not in old_users else u for u in users]
        if not any("national_register_number_list" in user for user in users):
            users = [{"national_register_number_list": False, **user} for user in users]
    if users:
        document["authorised_users"] = users
    else:
        document.pop("authorised_users", None)
    return document


def _parties(form: Mapping[str, Any], old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The three parties the form names, each keeping what the stored entry of the same id
    says besides (paragraphs, ``acts_for``, other roles), then every other party as stored; a
    party the form no longer names for a role keeps its other roles (a processor, a security
    consultant a sample is owed to), and is dropped only when it has none left."""
    by_id = {p["id"]: p for p in old}
    named: dict[str, dict[str, Any]] = {}
    for role in ROLE_FIELDS:
        key = form.get(role, "").strip()
        entry = named.get(key) or {k: v for k, v in by_id.get(key, {"id": key}).items() if k not in ("role", "roles")}
        kept = [r for r in _roles(by_id.get(key, {})) if r not in ROLE_FIELDS]
        entry["roles"] = [*entry.get("roles", kept), role]
        name = form.get(f"{role}_name", "").strip()
        if name:
            entry["name"] = name
        named[key] = entry
    others = []
    for party in old:
        rest = [r for r in _roles(party) if r not in ROLE_FIELDS]
        if party["id"] not in named and rest:
            others.append({**{k: v for k, v in party.items() if k not in ("role", "roles")}, "roles": rest})
    return [*named.values(), *others]


def _purposes(text: str) -> list[tuple[str, str]]:
    found = []
    for line in text.splitlines():
        if line.strip():
            key, _, description = line.partition(":")
            found.append((key.strip(), description.strip()))
    return found


def _flow(form: Mapping[str, Any], categories: list[str], document: Mapping[str, Any]) -> dict[str, Any]:
    old = document.get("flows", [{}])[0]
    discloser, recipient = form.get("discloser", "").strip(), form.get("recipient", "").strip()
    flow: dict[str, Any] = {"id": old.get("id") or f"{discloser}-to-{recipient}".lower(), **old}
    flow.update({"from": discloser, "to": recipient, "purposes": [p["id"] for p in document["purposes"]]})
    flow["data_categories"] = categories
    subjects = [s.strip() for s in form.get("subjects", "").split(",") if s.strip()]
    if subjects:
        flow["data_subjects"] = subjects
    else:
        flow.pop("data_subjects", None)
    number = old.get("national_register_number", {})
    flow["national_register_number"] = {**number, "allowed": bool(form.get("number"))}
    return flow


def _user(line: str, old: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """``id | organisation | name``; what the stored user of that id says besides is kept."""
    parts = [*_LINE.split(line.strip(), maxsplit=2), "", ""]
    key, organisation, name = parts[0], parts[1], parts[2]
    return {**old.get(key, {}), "id": key, "organisation": organisation, "name": name}


def problems_by_field(problems: list[Any], document: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[Any]]:
    """Each problem beside the form field its path belongs to (a party's beside the role the
    form gave it); the rest (about what the form does not show) listed above the form."""
    paths = {field: list(prefixes) for field, prefixes in FIELD_PATHS.items()}
    for index, party in enumerate(document.get("parties", [])):
        role = next((r for r in ROLE_FIELDS if r in _roles(party)), None)
        if role is not None:
            paths[role].append(f"parties[{index}]")
    beside: dict[str, list[str]] = {}
    rest = []
    for problem in problems:
        field = next((f for f, prefixes in paths.items() if any(_under(problem.path, p) for p in prefixes)), None)
        if field is None:
            rest.append(problem)
        else:
            beside.setdefault(field, []).append(f"{problem.path}: {problem.message}")
    return beside, rest


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))
