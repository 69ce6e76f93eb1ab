"""Loading the decision snapshot from the database: whole, or for a few authorisations after a
change. Bulk column queries, no per-row ORM objects, so 10,000 authorisations load in seconds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import Session, select

from authreg.domain.documents import groups_of
from authreg.domain.snapshot import (
    AuthorisationView,
    Category,
    DisclosureException,
    FlowView,
    Snapshot,
    UserView,
    sample_entry_days,
)
from authreg.storage import fact_rows, registry_rows
from authreg.storage.models import (
    Authorisation,
    AuthorisedUser,
    DataCategory,
    Flow,
    FlowCategory,
    FlowPurpose,
    Organisation,
    OrganisationMembership,
    Party,
    PartyRole,
    Purpose,
    SampleSubject,
)


def load_snapshot(session: Session) -> Snapshot:
    return Snapshot(
        version=registry_rows.registry_version(session),
        authorisations=load_authorisations(session, None),
        groups=load_groups(session),
        categories=load_categories(session),
    )


def load_categories(session: Session) -> dict[str, Category]:
    return {c.id: Category(c.id, c.parent_id, c.national_register_number) for c in session.exec(select(DataCategory))}


def load_groups(session: Session) -> dict[str, frozenset[str]]:
    organisations: dict[str, dict[str, Any]] = {org: {"member_of": []} for org in session.exec(select(Organisation.id))}
    for member, group in session.exec(select(OrganisationMembership.member_id, OrganisationMembership.group_id)):
        organisations[member]["member_of"].append(group)
    return {org: frozenset(groups_of(org, organisations)) for org in organisations}


def _rows(session: Session, columns: tuple[Any, ...], ids: list[str] | None) -> Iterable[Any]:
    query = select(*columns)
    if ids is not None:
        query = query.where(columns[0].in_(ids))
    return session.exec(query)


def load_authorisations(session: Session, ids: Iterable[str] | None) -> dict[str, AuthorisationView]:
    """Views of the given authorisations (all for ``None``); unknown ids are simply absent."""
    wanted = None if ids is None else list(ids)
    facts = {f.timeline.authorisation: f for f in fact_rows.facts(session, wanted)}
    grants: dict[tuple[str, str], list[str]] = defaultdict(list)
    for auth, flow, category in _rows(
        session, (FlowCategory.authorisation_id, FlowCategory.flow_id, FlowCategory.category_id), wanted
    ):
        grants[auth, flow].append(category)
    purposes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for auth, flow, purpose in _rows(
        session, (FlowPurpose.authorisation_id, FlowPurpose.flow_id, FlowPurpose.purpose_id), wanted
    ):
        purposes[auth, flow].append(purpose)
    flows: dict[str, list[FlowView]] = defaultdict(list)
    authorisations = {
        row[0]: row
        for row in _rows(
            session,
            (
                Authorisation.id,
                Authorisation.valid_from,
                Authorisation.valid_until,
                Authorisation.max_users,
                Authorisation.onward_disclosure,
                Authorisation.retention_until,
                Authorisation.paragraphs,
                Authorisation.onward_disclosure_exceptions,
            ),
            wanted,
        )
    }
    for row in _rows(
        session,
        (
            Flow.authorisation_id,
            Flow.id,
            Flow.from_id,
            Flow.to_id,
            Flow.valid_from,
            Flow.valid_until,
            Flow.national_register_number,
            Flow.national_register_number_paragraphs,
            Flow.paragraphs,
            Flow.data_subjects,
        ),
        wanted,
    ):
        auth, flow_id, source, to, valid_from, valid_until, nrn, nrn_paragraphs, paragraphs, subject_kinds = row
        owner = authorisations[auth]
        flows[auth].append(
            FlowView(
                authorisation=auth,
                id=flow_id,
                source=source,
                to=to,
                valid_from=valid_from or owner[1],
                valid_until=valid_until or owner[2],
                purposes=tuple(sorted(purposes[auth, flow_id])),
                categories=tuple(sorted(grants[auth, flow_id])),
                national_register_number=nrn,
                national_register_number_paragraphs=tuple(nrn_paragraphs),
                paragraphs=tuple(paragraphs),
                data_subjects=tuple(subject_kinds),
            )
        )
    users = _users(session, wanted)
    roles: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for auth, org, role in _rows(
        session, (PartyRole.authorisation_id, PartyRole.organisation_id, PartyRole.role), wanted
    ):
        roles[auth][org].add(role)
    party_paragraphs: dict[str, dict[str, tuple[int, ...]]] = defaultdict(dict)
    for auth, org, paragraphs in _rows(
        session, (Party.authorisation_id, Party.organisation_id, Party.paragraphs), wanted
    ):
        party_paragraphs[auth][org] = tuple(paragraphs)
    purpose_paragraphs: dict[str, dict[str, tuple[int, ...]]] = defaultdict(dict)
    for auth, purpose, paragraphs in _rows(session, (Purpose.authorisation_id, Purpose.id, Purpose.paragraphs), wanted):
        purpose_paragraphs[auth][purpose] = tuple(paragraphs)
    subjects: dict[str, list[tuple[str, str, date]]] = defaultdict(list)
    for auth, sample, subject, added_on in _rows(
        session,
        (SampleSubject.authorisation_id, SampleSubject.sample_id, SampleSubject.subject_hash, SampleSubject.added_on),
        wanted,
    ):
        subjects[auth].append((sample, subject, added_on))
    return {
        key: AuthorisationView(
            id=key,
            facts=facts[key],
            flows=tuple(sorted(flows[key], key=lambda f: f.id)),
            users=tuple(users[key]),
            roles={org: frozenset(r) for org, r in roles[key].items()},
            party_paragraphs=party_paragraphs[key],
            purpose_paragraphs=purpose_paragraphs[key],
            paragraphs={name: tuple(numbers) for name, numbers in (row[6] or {}).items()},
            max_users=row[3],
            onward_disclosure=row[4],
            onward_exceptions=tuple(
                DisclosureException(e["to"], e["description"], tuple(e.get("paragraphs", []))) for e in row[7] or []
            ),
            retention_until=row[5],
            sample_entry=sample_entry_days(facts[key], subjects[key]),
        )
        for key, row in authorisations.items()
    }


def _users(session: Session, wanted: list[str] | None) -> dict[str, list[UserView]]:
    """Each authorisation's users with the day their declaration counts from: the document's,
    or the earliest recorded for the person the entry names now, whichever is earlier."""
    declared = fact_rows.declarations(session, wanted)
    users: dict[str, list[UserView]] = defaultdict(list)
    for auth, user, name, org, signed, listed in _rows(
        session,
        (
            AuthorisedUser.authorisation_id,
            AuthorisedUser.id,
            AuthorisedUser.name,
            AuthorisedUser.organisation_id,
            AuthorisedUser.declaration_signed_on,
            AuthorisedUser.national_register_number_list,
        ),
        wanted,
    ):
        days = [day for day in (signed, declared.get((auth, user, name, org))) if day is not None]
        users[auth].append(UserView(user, org, min(days, default=None), listed))
    return users
