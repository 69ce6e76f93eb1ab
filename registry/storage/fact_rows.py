"""The recorded facts in the database: status changes, fulfilments, samples and their
communications, and the read side that gathers them into ``conditions.AuthorisationFacts``.

Like ``registry_rows``, every function takes a session that is already inside a transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from authreg.domain.conditions import (
    AuthorisationFacts,
    ConditionSpec,
    Event,
    Fulfilment,
    SampleRecord,
    derived_conditions,
)
from authreg.domain.errors import NotFound
from authreg.domain.lifecycle import StatusChange, Timeline
from authreg.storage.models import (
    Authorisation,
    AuthorisationReplacement,
    AuthorisedUser,
    Condition,
    ConditionEvent,
    ConditionFulfilment,
    Declaration,
    Flow,
    PartyRole,
    RecordedFact,
    Sample,
    SampleCommunication,
    SampleSubject,
    StatusChangeRecord,
)


def _where(model: type, ids: list[str] | None) -> object:
    return True if ids is None else model.authorisation_id.in_(ids)  # type: ignore[attr-defined]


def timelines(session: Session, ids: Iterable[str] | None = None) -> dict[str, Timeline]:
    """Validity, status and its dated changes, and replacement of each authorisation."""
    wanted = None if ids is None else list(ids)
    rows = session.exec(select(Authorisation).where(True if wanted is None else Authorisation.id.in_(wanted)))  # type: ignore[attr-defined]
    authorisations = {row.id: row for row in rows}
    changes: dict[str, list[StatusChange]] = defaultdict(list)
    for change in session.exec(
        select(StatusChangeRecord).where(_where(StatusChangeRecord, wanted)).order_by(StatusChangeRecord.id)  # type: ignore[arg-type]
    ):
        changes[change.authorisation_id].append(StatusChange(change.kind, change.effective_on, change.reason))  # type: ignore[arg-type]
    replaced: dict[str, list[tuple[date, str]]] = defaultdict(list)
    query = select(AuthorisationReplacement, Authorisation.valid_from).join(
        Authorisation,
        Authorisation.id == AuthorisationReplacement.authorisation_id,  # type: ignore[arg-type]
    )
    if wanted is not None:
        query = query.where(AuthorisationReplacement.replaced_id.in_(wanted))  # type: ignore[attr-defined]
    for replacement, valid_from in session.exec(query):
        replaced[replacement.replaced_id].append((valid_from, replacement.authorisation_id))
    return {
        key: Timeline(
            authorisation=key,
            decided_on=row.decided_on,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            status=row.status,
            changes=tuple(changes[key]),
            replaced_from=min(replaced[key])[0] if replaced[key] else None,
            replaced_by=tuple(sorted(by for _, by in replaced[key])),
        )
        for key, row in authorisations.items()
    }


def timeline(session: Session, authorisation_id: str) -> Timeline:
    found = timelines(session, [authorisation_id])
    if authorisation_id not in found:
        raise NotFound(f"no authorisation {authorisation_id!r}")
    return found[authorisation_id]


def facts(session: Session, ids: Iterable[str] | None = None) -> list[AuthorisationFacts]:
    """Everything ``conditions`` needs, for the given authorisations or for all, ordered by id."""
    wanted = None if ids is None else list(ids)
    lines = timelines(session, wanted)
    specs: dict[str, list[ConditionSpec]] = defaultdict(list)
    for row in session.exec(select(Condition).where(_where(Condition, wanted)).order_by(Condition.authorisation_id)):  # type: ignore[arg-type]
        specs[row.authorisation_id].append(
            ConditionSpec(
                id=row.id,
                kind=row.kind,
                description=row.description,
                responsible=tuple(row.responsible),
                effect=row.effect,
                paragraphs=tuple(row.paragraphs),
                due_on=row.due_on,
                every=row.every,
                within=row.within,
                trigger=row.trigger,
                purposes=tuple(row.purposes),
                owed_to=tuple(row.owed_to),
            )
        )
    fulfilments: dict[str, list[Fulfilment]] = defaultdict(list)
    for row in session.exec(select(ConditionFulfilment).where(_where(ConditionFulfilment, wanted))):  # type: ignore[arg-type]
        fulfilments[row.authorisation_id].append(fulfilment_of(row))
    samples = _samples(session, wanted)
    events: dict[str, list[Event]] = defaultdict(list)
    for row in session.exec(select(ConditionEvent).where(_where(ConditionEvent, wanted)).order_by(ConditionEvent.id)):  # type: ignore[arg-type]
        events[row.authorisation_id].append(Event(row.event, row.occurred_on))
    for key, derived in _derived(session, wanted, lines).items():
        stated = {spec.id for spec in specs[key]}
        specs[key].extend(spec for spec in derived if spec.id not in stated)
    return [
        AuthorisationFacts(
            timeline=lines[key],
            conditions=tuple(specs[key]),
            fulfilments=tuple(fulfilments[key]),
            samples=tuple(samples[key]),
            events=tuple(events[key]),
        )
        for key in sorted(lines)
    ]


def _derived(
    session: Session, wanted: list[str] | None, lines: dict[str, Timeline]
) -> dict[str, tuple[ConditionSpec, ...]]:
    """The conditions the registry derives from each authorisation's dates (``derived_conditions``)."""
    recipients: dict[str, list[str]] = defaultdict(list)
    for key, to in session.exec(select(Flow.authorisation_id, Flow.to_id).where(_where(Flow, wanted))):
        recipients[key].append(to)
    query = select(Authorisation.id, Authorisation.retention_until, Authorisation.paragraphs)
    rows = session.exec(query.where(True if wanted is None else Authorisation.id.in_(wanted)))  # type: ignore[attr-defined]
    return {
        key: derived_conditions(
            timeline=lines[key],
            retention_until=retention_until,
            recipients=recipients[key],
            paragraphs=paragraphs or {},
        )
        for key, retention_until, paragraphs in rows
        if key in lines
    }


Signatory = tuple[str, str, str, str]  # authorisation, user id, the user's name, organisation


def declarations(session: Session, ids: Iterable[str] | None = None) -> dict[Signatory, date]:
    """Who signed -> the day of the earliest declaration of honour that no correction supersedes."""
    superseded = select(Declaration.supersedes_id).where(Declaration.supersedes_id.is_not(None))  # type: ignore[union-attr]
    query = select(
        Declaration.authorisation_id,
        Declaration.user_id,
        Declaration.user_name,
        Declaration.organisation_id,
        func.min(Declaration.signed_on),
    ).where(Declaration.id.not_in(superseded))  # type: ignore[union-attr]
    if ids is not None:
        query = query.where(Declaration.authorisation_id.in_(list(ids)))  # type: ignore[attr-defined]
    rows = session.exec(
        query.group_by(
            Declaration.authorisation_id,  # type: ignore[arg-type]
            Declaration.user_id,
            Declaration.user_name,
            Declaration.organisation_id,
        )
    )
    return {(auth, user, name, org): day for auth, user, name, org, day in rows}


def _samples(session: Session, wanted: list[str] | None) -> dict[str, list[SampleRecord]]:
    added: dict[tuple[str, str], set[date]] = defaultdict(set)
    for subject in session.exec(select(SampleSubject).where(_where(SampleSubject, wanted))):  # type: ignore[arg-type]
        added[subject.authorisation_id, subject.sample_id].add(subject.added_on)
    communicated: dict[tuple[str, str], list[date]] = defaultdict(list)
    for row in session.exec(select(SampleCommunication).where(_where(SampleCommunication, wanted))):  # type: ignore[arg-type]
        communicated[row.authorisation_id, row.sample_id].append(row.communicated_on)
    samples: dict[str, list[SampleRecord]] = defaultdict(list)
    for sample in session.exec(select(Sample).where(_where(Sample, wanted)).order_by(Sample.id)):  # type: ignore[arg-type]
        key = (sample.authorisation_id, sample.id)
        samples[sample.authorisation_id].append(
            SampleRecord(sample.id, sample.drawn_on, tuple(sorted(added[key])), tuple(sorted(communicated[key])))
        )
    return samples


def fulfilment_of(row: ConditionFulfilment) -> Fulfilment:
    assert row.id is not None
    return Fulfilment(
        id=row.id,
        condition=row.condition_id,
        fulfilled_on=row.fulfilled_on,
        evidence=row.evidence,
        recorded_by=row.recorded_by,
        link=row.link,
        supersedes=row.supersedes_id,
    )


def roles(session: Session, authorisation_id: str) -> dict[str, set[str]]:
    """Party id → roles in the current version of an authorisation."""
    found: dict[str, set[str]] = defaultdict(set)
    for row in session.exec(select(PartyRole).where(PartyRole.authorisation_id == authorisation_id)):
        found[row.organisation_id].add(row.role)
    return found


def add_status_change(
    session: Session, authorisation_id: str, change: StatusChange, *, version: int, actor: str, now: datetime
) -> None:
    session.add(
        StatusChangeRecord(
            authorisation_id=authorisation_id,
            kind=change.kind,
            effective_on=change.on,
            reason=change.reason,
            version=version,
            recorded_by=actor,
            recorded_at=now,
        )
    )
    session.flush()


def add_fulfilment(session: Session, row: ConditionFulfilment) -> Fulfilment:
    session.add(row)
    session.flush()
    return fulfilment_of(row)


def get_fulfilment(session: Session, fulfilment_id: int) -> ConditionFulfilment | None:
    return session.get(ConditionFulfilment, fulfilment_id)


def is_superseded(session: Session, model: type[ConditionFulfilment] | type[Declaration], number: int) -> bool:
    """Whether a correction names this fulfilment or declaration already."""
    query = select(model.id).where(model.supersedes_id == number)
    return session.exec(query).first() is not None


def get_sample(session: Session, authorisation_id: str, sample_id: str) -> Sample | None:
    return session.get(Sample, (authorisation_id, sample_id))


def add_subjects(session: Session, authorisation_id: str, sample_id: str, hashes: Iterable[str], on: date) -> int:
    """Add the hashes not yet in the sample; returns how many were new."""
    present = set(
        session.exec(
            select(SampleSubject.subject_hash).where(
                SampleSubject.authorisation_id == authorisation_id, SampleSubject.sample_id == sample_id
            )
        )
    )
    new = sorted(set(hashes) - present)
    session.add_all(
        SampleSubject(authorisation_id=authorisation_id, sample_id=sample_id, subject_hash=h, added_on=on) for h in new
    )
    session.flush()
    return len(new)


def add_row(session: Session, row: Sample | SampleCommunication | RecordedFact) -> None:
    """A recorded fact; a unique key it breaks (the same event twice, say) becomes a Conflict
    when the transaction ends."""
    session.add(row)
    session.flush()


def listed_user(session: Session, authorisation_id: str, user_id: str) -> AuthorisedUser | None:
    """The user as the current version of an authorisation lists it."""
    return session.get(AuthorisedUser, (authorisation_id, user_id))


def get_declaration(session: Session, declaration_id: int) -> Declaration | None:
    return session.get(Declaration, declaration_id)


def declared_on(session: Session, signatory: Signatory, day: date, *, besides: int | None) -> bool:
    """Whether a declaration of this person on this day counts already (one that a correction
    supersedes does not; nor ``besides``, the one being corrected)."""
    authorisation_id, user_id, name, organisation = signatory
    superseded = select(Declaration.supersedes_id).where(Declaration.supersedes_id.is_not(None))  # type: ignore[union-attr]
    query = select(Declaration.id).where(
        Declaration.authorisation_id == authorisation_id,
        Declaration.user_id == user_id,
        Declaration.user_name == name,
        Declaration.organisation_id == organisation,
        Declaration.signed_on == day,
        Declaration.id.not_in(superseded),  # type: ignore[union-attr]
    )
    if besides is not None:
        query = query.where(Declaration.id != besides)
    return session.exec(query).first() is not None


def occurred_on(session: Session, authorisation_id: str, event: str, day: date) -> bool:
    query = select(ConditionEvent.id).where(
        ConditionEvent.authorisation_id == authorisation_id,
        ConditionEvent.event == event,
        ConditionEvent.occurred_on == day,
    )
    return session.exec(query).first() is not None


def gate_owed_to(session: Session, authorisation_id: str) -> list[str]:
    """To whom the sample-gate of an authorisation is owed (empty: no gate, or it names none)."""
    query = select(Condition.owed_to).where(
        Condition.authorisation_id == authorisation_id, Condition.kind == "sample-gate"
    )
    return [owed for found in session.exec(query) for owed in found]


def triggers(session: Session, authorisation_id: str) -> set[str]:
    """The events the on-event conditions of an authorisation wait for."""
    query = select(Condition.trigger).where(Condition.authorisation_id == authorisation_id)
    return {trigger for trigger in session.exec(query) if trigger is not None}
