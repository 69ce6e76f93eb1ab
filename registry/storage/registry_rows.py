"""The registry in the database: the only module that writes SQL for documents.

Callers pass a session that is already inside a transaction (``sessions.transaction``), so a batch
of documents is written all or nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, SQLModel, select

from authreg.domain.documents import Context, Document
from authreg.domain.errors import NotFound
from authreg.storage.models import (
    Amendment,
    Authorisation,
    AuthorisationReplacement,
    AuthorisationVersion,
    AuthorisedUser,
    Condition,
    DataCategory,
    Flow,
    FlowCategory,
    FlowPurpose,
    LegalBasis,
    Organisation,
    OrganisationMembership,
    Party,
    PartyRole,
    Purpose,
    RegistryChange,
    RegistryIdentity,
    SubjectKind,
)

# Children of an authorisation, in an order that deletes referencing rows first.
_PARTS: tuple[Any, ...] = (
    FlowCategory,
    FlowPurpose,
    Flow,
    Purpose,
    PartyRole,
    AuthorisedUser,
    Condition,
    LegalBasis,
    Amendment,
    AuthorisationReplacement,
    Party,
)
_COLUMNS_FROM_DOCUMENT = (
    "reference",
    "title",
    "decided_on",
    "valid_from",
    "valid_until",
    "status",
    "sensitive",
    "frequency",
    "retention_until",
    "max_users",
    "paragraphs",
)


def digest(canonical: Mapping[str, Any]) -> str:
    """SHA-256 of a canonical document: equal documents, equal digests, whatever the key order."""
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def load_context(session: Session) -> Context:
    """Organisations, taxonomy (with each category's owner) and the party names of stored
    authorisations, for ``merge``."""
    members: dict[str, list[str]] = {}
    for membership in session.exec(select(OrganisationMembership)):
        members.setdefault(membership.member_id, []).append(membership.group_id)
    organisations = {
        org.id: {
            "name": org.name,
            "kind": org.kind,
            "member_of": sorted(members.get(org.id, [])),
            # only when set, as an entry states it: one without is the same as before contacts
            **({"contact": org.contact} if org.contact is not None else {}),
        }
        for org in session.exec(select(Organisation))
    }
    rows = list(session.exec(select(DataCategory)))
    owners = {category.id: category.owner_id for category in rows if category.owner_id is not None}
    party_names: dict[str, dict[str, str]] = {}
    for party in session.exec(select(Party)):
        if party.name is not None:
            party_names.setdefault(party.organisation_id, {})[party.authorisation_id] = party.name
    kinds = {kind.id: {"id": kind.id, "label": kind.label} for kind in session.exec(select(SubjectKind))}
    categories = {category.id: category_entry(category) for category in rows}
    return Context(organisations, categories, party_names, category_owners=owners, subject_kinds=kinds)


def categories(session: Session) -> dict[str, dict[str, Any]]:
    """The taxonomy: category id -> its entry (``category_entry``)."""
    return {category.id: category_entry(category) for category in session.exec(select(DataCategory))}


def usable_categories(session: Session, authorisation: str | None) -> dict[str, dict[str, Any]]:
    """The categories an authorisation may grant (a new one: None): the shared ones and its own."""
    owned = DataCategory.owner_id == authorisation if authorisation is not None else False
    query = select(DataCategory).where((DataCategory.owner_id == None) | owned)  # type: ignore[arg-type]  # noqa: E711
    return {category.id: category_entry(category) for category in session.exec(query)}


def replacements(session: Session, replaced: Iterable[str]) -> dict[str, dict[str, date]]:
    """For each of ``replaced``: the stored authorisations replacing it -> their ``valid_from``."""
    wanted = sorted(set(replaced))
    found: dict[str, dict[str, date]] = {key: {} for key in wanted}
    if wanted:
        query = select(AuthorisationReplacement.replaced_id, Authorisation.id, Authorisation.valid_from).join(
            Authorisation,
            Authorisation.id == AuthorisationReplacement.authorisation_id,  # type: ignore[arg-type]
        )
        for replaced_id, replacing, valid_from in session.exec(
            query.where(AuthorisationReplacement.replaced_id.in_(wanted))
        ):  # type: ignore[attr-defined]
            found[replaced_id][replacing] = valid_from
    return found


def category_entry(category: DataCategory) -> dict[str, Any]:
    """A stored category in the shape of a taxonomy document entry (its owner is not part of
    the entry: a document never states it, the merge derives it from who declares the entry)."""
    entry: dict[str, Any] = {"id": category.id, "label": category.label}
    if category.parent_id:
        entry["parent"] = category.parent_id
    entry["national_register_number"] = category.national_register_number
    entry["sensitive"] = category.sensitive
    return entry


def flows_granting(session: Session, categories: Iterable[str]) -> dict[str, list[str]]:
    """The stored flows that grant any of ``categories`` by name: authorisation id -> flow ids."""
    wanted = sorted(set(categories))
    if not wanted:
        return {}
    query = select(FlowCategory.authorisation_id, FlowCategory.flow_id).where(
        FlowCategory.category_id.in_(wanted)  # type: ignore[attr-defined]
    )
    found: dict[str, set[str]] = {}
    for authorisation_id, flow_id in session.exec(query.distinct()):
        found.setdefault(authorisation_id, set()).add(flow_id)
    return {key: sorted(flows) for key, flows in sorted(found.items())}


def existing(session: Session, ids: Iterable[str]) -> set[str]:
    """Those of ``ids`` that are registered."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(session.exec(select(Authorisation.id).where(Authorisation.id.in_(wanted))))  # type: ignore[attr-defined]


def lock_authorisations(session: Session, ids: Iterable[str]) -> None:
    """Take the rows of these authorisations for this transaction before reading their state:
    on PostgreSQL a concurrent write to one of them waits here and then reads what the other
    wrote, so "is it still version 20?" or "is it still active?" and the write that depends on
    the answer are one step (SQLite's ``BEGIN IMMEDIATE`` already makes every write wait)."""
    wanted = sorted(set(ids))  # one order for every writer: no deadlock between two batches
    if wanted:
        session.exec(select(Authorisation.id).where(Authorisation.id.in_(wanted)).with_for_update())  # type: ignore[attr-defined]


def current_documents(session: Session, ids: Iterable[str]) -> dict[str, tuple[int, dict[str, Any]]]:
    """Current version number and canonical document of each stored authorisation in ``ids``."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(AuthorisationVersion)
        .join(
            Authorisation,
            (Authorisation.id == AuthorisationVersion.authorisation_id)  # type: ignore[arg-type]
            & (Authorisation.version == AuthorisationVersion.version),
        )
        .where(AuthorisationVersion.authorisation_id.in_(wanted))  # type: ignore[attr-defined]
    )
    return {row.authorisation_id: (row.version, row.document) for row in rows}


def stored_document(session: Session, authorisation_id: str) -> dict[str, Any]:
    found = current_documents(session, [authorisation_id])
    if authorisation_id not in found:
        raise NotFound(f"no authorisation {authorisation_id!r}")
    return found[authorisation_id][1]


def write_organisations(session: Session, organisations: Mapping[str, dict[str, Any]]) -> None:
    """Add or update organisations by id; an updated entry's ``member_of`` replaces the old one."""
    for org_id, entry in organisations.items():
        row = session.get(Organisation, org_id) or Organisation(id=org_id, name=entry["name"])
        row.name, row.kind = entry["name"], entry["kind"]
        row.contact = entry.get("contact")  # an entry without one clears it, as it replaces member_of
        session.add(row)
    session.flush()
    for org_id, entry in organisations.items():
        session.exec(delete(OrganisationMembership).where(OrganisationMembership.member_id == org_id))  # type: ignore[call-overload,arg-type]
        session.add_all(OrganisationMembership(member_id=org_id, group_id=group) for group in entry["member_of"])
    session.flush()


def write_categories(session: Session, categories: Mapping[str, dict[str, Any]], owners: Mapping[str, str]) -> None:
    """Add or update categories by id, parents before children so every parent link holds;
    ``owners`` names the authorisation of each own category (absent: shared). The owner's row
    may be written after its categories in the same transaction: the key is checked at commit."""
    written: set[str] = set()

    def write(category_id: str) -> None:
        if category_id in written:
            return
        written.add(category_id)
        entry = categories[category_id]
        if entry.get("parent") in categories:
            write(entry["parent"])
        row = session.get(DataCategory, category_id) or DataCategory(id=category_id, label=entry["label"])
        row.label = entry["label"]
        row.parent_id = entry.get("parent")
        row.national_register_number = entry["national_register_number"]
        row.sensitive = entry["sensitive"]
        row.owner_id = owners.get(category_id)
        session.add(row)
        session.flush()

    for category_id in categories:
        write(category_id)


def write_subject_kinds(session: Session, kinds: Mapping[str, dict[str, Any]]) -> None:
    """Add or relabel kinds of data subject by id."""
    for kind_id, entry in kinds.items():
        row = session.get(SubjectKind, kind_id) or SubjectKind(id=kind_id, label=entry["label"])
        row.label = entry["label"]
        session.add(row)
    session.flush()


def write_authorisation(session: Session, document: Document, *, actor: str, note: str, now: datetime) -> int:
    """Store ``document`` as the next version of its authorisation; returns the version."""
    body = document.body
    row = session.get(Authorisation, body["id"])
    if row is None:
        row = Authorisation(
            id=body["id"],
            reference=body["reference"],
            title=body["title"],
            authority_id=body["authority"],
            decided_on=body["decided_on"],
            valid_from=body["valid_from"],
            version=0,
        )
    else:
        for part in _PARTS:
            session.exec(delete(part).where(part.authorisation_id == row.id))
    for column in _COLUMNS_FROM_DOCUMENT:
        setattr(row, column, body.get(column))
    onward = body.get("onward_disclosure")
    row.onward_disclosure = onward["rule"] if onward else None
    row.onward_disclosure_exceptions = onward["exceptions"] if onward else []
    row.authority_id, row.version, row.updated_at = body["authority"], row.version + 1, now
    session.add(row)
    session.flush()
    _add_version(session, row, document.canonical(), actor=actor, note=note, now=now)
    session.add_all(_named_parts(body))
    session.flush()
    session.add_all(_linked_parts(body))
    session.flush()
    return row.version


def _named_parts(body: Mapping[str, Any]) -> list[SQLModel]:
    key = body["id"]
    rows: list[SQLModel] = []
    for party in body["parties"]:
        rows.append(
            Party(
                authorisation_id=key,
                organisation_id=party["id"],
                name=party.get("name"),
                acts_for_id=party.get("acts_for"),
                paragraphs=party["paragraphs"],
            )
        )
    rows.extend(
        Purpose(authorisation_id=key, id=p["id"], description=p["description"], paragraphs=p["paragraphs"])
        for p in body["purposes"]
    )
    for flow in body["flows"]:
        nrn = flow["national_register_number"]
        rows.append(
            Flow(
                authorisation_id=key,
                id=flow["id"],
                from_id=flow["from_"],
                to_id=flow["to"],
                valid_from=flow.get("valid_from"),
                valid_until=flow.get("valid_until"),
                national_register_number=nrn["allowed"],
                national_register_number_paragraphs=nrn["paragraphs"],
                data_subjects=flow["data_subjects"],
                paragraphs=flow["paragraphs"],
            )
        )
    return rows


def _linked_parts(body: Mapping[str, Any]) -> list[SQLModel]:
    """Rows that refer to the parties, purposes and flows written first."""
    key = body["id"]
    rows: list[SQLModel] = []
    for party in body["parties"]:
        rows.extend(PartyRole(authorisation_id=key, organisation_id=party["id"], role=role) for role in party["roles"])
    for flow in body["flows"]:
        rows.extend(
            FlowCategory(authorisation_id=key, flow_id=flow["id"], category_id=c) for c in flow["data_categories"]
        )
        rows.extend(FlowPurpose(authorisation_id=key, flow_id=flow["id"], purpose_id=p) for p in flow["purposes"])
    for user in body["authorised_users"]:
        rows.append(
            AuthorisedUser(
                authorisation_id=key,
                id=user["id"],
                name=user["name"],
                organisation_id=user["organisation"],
                profile=user.get("profile"),
                declaration_signed_on=user.get("declaration_signed_on"),
                national_register_number_list=user.get("national_register_number_list"),
            )
        )
    for condition in body["conditions"]:
        rows.append(
            Condition(
                authorisation_id=key,
                id=condition["id"],
                kind=condition["kind"],
                description=condition["description"],
                responsible=condition["responsible"],
                owed_to=condition.get("owed_to", []),
                due_on=condition.get("due_on"),
                every=condition.get("every"),
                within=condition.get("within"),
                trigger=condition.get("trigger"),
                purposes=condition.get("purposes", []),
                effect=condition["effect"],
                paragraphs=condition["paragraphs"],
            )
        )
    rows.extend(
        LegalBasis(authorisation_id=key, id=b["id"], citation=b["citation"], paragraphs=b["paragraphs"])
        for b in body["legal_bases"]
    )
    rows.extend(
        Amendment(
            authorisation_id=key, position=i, reference=a["reference"], decided_on=a["decided_on"], summary=a["summary"]
        )
        for i, a in enumerate(body["amendments"])
    )
    rows.extend(AuthorisationReplacement(authorisation_id=key, replaced_id=r) for r in body["replaces"])
    return rows


def record_change(
    session: Session, *, actor: str, summary: str, now: datetime, authorisations: Iterable[str] | None
) -> int:
    """Count one committed change and what it touched (``None``: the whole registry); returns
    the registry's new version.

    Changes are numbered in the order they commit: every writer takes the registry's one
    identity row first (SQLite's ``BEGIN IMMEDIATE`` already orders every write). Otherwise, on
    PostgreSQL, a change to one authorisation could take number 5 and commit after number 6 to
    another; a process that caught up with 6 in between would never look at 5 again, and go on
    deciding on what 5 revoked."""
    session.exec(select(RegistryIdentity.id).with_for_update())
    touched = None if authorisations is None else sorted(set(authorisations))
    change = RegistryChange(changed_at=now, changed_by=actor, summary=summary, authorisations=touched)
    session.add(change)
    session.flush()
    assert change.seq is not None
    return change.seq


def changes_since(session: Session, version: int) -> tuple[int, list[str] | None]:
    """The newest version and the authorisations changed after ``version`` (``None``: reload all)."""
    rows = session.exec(select(RegistryChange).where(RegistryChange.seq > version).order_by(RegistryChange.seq))  # type: ignore[arg-type,operator]
    latest, touched = version, set()
    for row in rows:
        assert row.seq is not None
        latest = row.seq
        if row.authorisations is None:
            return max(latest, registry_version(session)), None
        touched.update(row.authorisations)
    return latest, sorted(touched)


def registry_version(session: Session) -> int:
    return int(session.exec(select(func.coalesce(func.max(RegistryChange.seq), 0))).one())


def authorisations(session: Session) -> list[Authorisation]:
    return list(session.exec(select(Authorisation).order_by(Authorisation.id)))  # type: ignore[arg-type]


def add_version(session: Session, authorisation_id: str, *, actor: str, note: str, now: datetime) -> int:
    """A new version with the same document, for a change of the authorisation's life (a
    suspension, a revocation) that the history must show with who, when and why."""
    row = session.get(Authorisation, authorisation_id)
    if row is None:
        raise NotFound(f"no authorisation {authorisation_id!r}")
    document = stored_document(session, authorisation_id)
    row.version, row.updated_at = row.version + 1, now
    session.add(row)
    _add_version(session, row, document, actor=actor, note=note, now=now)
    session.flush()
    return row.version


def _add_version(
    session: Session, row: Authorisation, document: dict[str, Any], *, actor: str, note: str, now: datetime
) -> None:
    """The version row for ``row.version``: the canonical document, its digest, who, when, why."""
    session.add(
        AuthorisationVersion(
            authorisation_id=row.id,
            version=row.version,
            document=document,
            digest=digest(document),
            created_at=now,
            created_by=actor,
            note=note,
        )
    )


def versions(session: Session, authorisation_id: str) -> list[AuthorisationVersion]:
    query = select(AuthorisationVersion).where(AuthorisationVersion.authorisation_id == authorisation_id)
    return list(session.exec(query.order_by(AuthorisationVersion.version)))  # type: ignore[arg-type]


def party_of(session: Session, organisation: str) -> set[str]:
    """The authorisations an organisation is a party of."""
    return set(session.exec(select(Party.authorisation_id).where(Party.organisation_id == organisation)))


def with_purpose(session: Session, purpose: str) -> set[str]:
    """The authorisations with a flow for this purpose."""
    return set(session.exec(select(FlowPurpose.authorisation_id).where(FlowPurpose.purpose_id == purpose)))


def granting_category(session: Session, category: str) -> set[str]:
    """The authorisations with a flow that grants the category: one that names it, or a broader
    category it falls under (a flow granting ``officiele-personalia`` grants ``naam``)."""
    chain: list[str] = []
    current: str | None = category
    while current is not None and current not in chain:
        chain.append(current)
        row = session.get(DataCategory, current)
        current = row.parent_id if row is not None else None
    query = select(FlowCategory.authorisation_id).where(FlowCategory.category_id.in_(chain))  # type: ignore[attr-defined]
    return set(session.exec(query))
