"""Recording what happens after a decision: fulfilments of conditions, samples and their
communication to the security consultants, declarations of honour, events that start a
condition's clock, suspensions, reinstatements and revocations.

One function per act; each validates its input against the registry, writes in one
transaction and counts one registry change. The CLI and the HTTP API call these, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session

from authreg.domain.clock import Clock
from authreg.domain.conditions import DERIVED, ConditionSpec, Fulfilment
from authreg.domain.document_format import MAX_ID_LENGTH, MAX_LINK_LENGTH, MAX_TEXT_LENGTH, SLUG, check_texts
from authreg.domain.errors import Conflict, Invalid, NotFound, Problem
from authreg.domain.insz import InvalidInsz
from authreg.domain.lifecycle import RESULTING_STATUS, ChangeKind, StatusChange, check_change, last_in_force
from authreg.domain.subjects import subject_hash
from authreg.storage import fact_rows, registry_rows
from authreg.storage.models import (
    Condition,
    ConditionEvent,
    ConditionFulfilment,
    Declaration,
    RecordedFact,
    Sample,
    SampleCommunication,
)
from authreg.storage.sessions import transaction


@contextmanager
def _locked(engine: Engine, authorisation: str) -> Iterator[Session]:
    """Every act is one transaction on one authorisation whose row is locked first, so two acts
    at the same moment (two suspensions, a suspension and a revocation) are checked one after
    the other on PostgreSQL too, never both against the state before either."""
    with transaction(engine) as session:
        registry_rows.lock_authorisations(session, [authorisation])
        yield session


def _problem(path: str, message: str) -> Invalid:
    return Invalid([Problem("", path, message)])


def _not_after_today(path: str, day: date, clock: Clock) -> None:
    if day > clock.today:
        raise _problem(path, f"{day} is in the future (today is {clock.today})")


def record_fulfilment(
    engine: Engine,
    *,
    authorisation: str,
    condition: str,
    fulfilled_on: date,
    evidence: str,
    link: str | None = None,
    supersedes: int | None = None,
    actor: str,
    clock: Clock,
) -> Fulfilment:
    """A condition met on a day, with evidence; a correction names the fulfilment it supersedes."""
    check_texts(("evidence", evidence, MAX_TEXT_LENGTH), ("link", link, MAX_LINK_LENGTH))
    if not evidence.strip():
        raise _problem("evidence", "required")
    _not_after_today("fulfilled_on", fulfilled_on, clock)
    with _locked(engine, authorisation) as session:
        line = fact_rows.timeline(session, authorisation)
        if fulfilled_on < line.decided_on:
            raise _problem("fulfilled_on", f"before the decision of {line.decided_on}")
        spec = session.get(Condition, (authorisation, condition)) or _derived(session, authorisation, condition)
        if spec is None:
            raise NotFound(f"authorisation {authorisation} has no condition {condition!r}")
        if spec.kind == "sample-gate":
            raise _problem("condition", "a sample-gate is met by communicating samples, not by a fulfilment")
        if spec.kind == "ending":
            raise _problem("condition", f"{condition} is a notice of the end of the validity: listed, not fulfilled")
        last = last_in_force(line) if spec.kind == "deletion" else None
        if last is not None and fulfilled_on <= last:
            still = "it has no end yet" if last == date.max else f"until {last}"
            raise _problem("fulfilled_on", f"data may still be received under {authorisation} ({still}): delete after")
        if spec.kind == "standing" and spec.every is None:
            raise _problem("condition", "a standing condition without every is in effect, not fulfilled")
        if supersedes is not None:
            earlier = fact_rows.get_fulfilment(session, supersedes)
            found = None if earlier is None else (earlier.authorisation_id, earlier.condition_id)
            _correctable(
                session,
                ConditionFulfilment,
                supersedes,
                found,
                (authorisation, condition),
                f"{authorisation}/{condition}",
            )
        fulfilment = fact_rows.add_fulfilment(
            session,
            ConditionFulfilment(
                authorisation_id=authorisation,
                condition_id=condition,
                fulfilled_on=fulfilled_on,
                evidence=evidence.strip(),
                link=link or None,
                recorded_by=actor,
                recorded_at=clock.now,
                supersedes_id=supersedes,
            ),
        )
        _count(
            session,
            authorisation,
            f"fulfilment {fulfilment.id} of {authorisation}/{condition}",
            actor=actor,
            clock=clock,
        )
    return fulfilment


def _derived(session: Session, authorisation: str, condition: str) -> ConditionSpec | None:
    """A condition the registry derives from the authorisation's dates (the end of its validity,
    the deletion at the end of the retention period), which no document states."""
    if condition not in DERIVED:
        return None
    found = fact_rows.facts(session, [authorisation])
    return next((spec for spec in found[0].conditions if spec.id == condition), None) if found else None


def _correctable(
    session: Session,
    model: type[ConditionFulfilment] | type[Declaration],
    number: int,
    found: tuple[str, ...] | None,
    expected: tuple[str, ...],
    label: str,
) -> None:
    """A correction names a fulfilment of the same authorisation and condition (a declaration
    of the same authorisation, user entry and person), one that no other correction names yet:
    corrections form a line, never a tree."""
    what = "fulfilment" if model is ConditionFulfilment else "declaration"
    if found != expected:
        raise NotFound(f"no {what} {number} of {label}")
    if fact_rows.is_superseded(session, model, number):
        raise Conflict(f"{what} {number} is already superseded; correct the latest one")


def _count(session: Session, authorisation: str, summary: str, *, actor: str, clock: Clock) -> None:
    """Every recorded act is one registry change, scoped to its authorisation."""
    registry_rows.record_change(session, authorisations=[authorisation], actor=actor, summary=summary, now=clock.now)


def _hashes(subjects: Sequence[str], secret: str) -> list[str]:
    if not subjects:
        raise _problem("subjects", "at least one INSZ")
    hashes: list[str] = []
    problems: list[Problem] = []
    for index, insz in enumerate(subjects):
        try:
            hashes.append(subject_hash(insz, secret))
        except InvalidInsz as exc:
            problems.append(Problem("", f"subjects[{index}]", f"{insz!r} is {exc}"))
    if problems:
        raise Invalid(problems)
    return hashes


def register_sample(
    engine: Engine,
    *,
    authorisation: str,
    sample: str,
    drawn_on: date,
    subjects: Sequence[str],
    secret: str,
    actor: str,
    clock: Clock,
) -> int:
    """A sample drawn for a control (§90-91); returns the number of persons in it."""
    check_texts(("id", sample, MAX_ID_LENGTH))
    if not re.fullmatch(SLUG, sample):
        raise _problem("id", "not a lower-case id ([a-z0-9][a-z0-9-]*)")
    hashes = _hashes(subjects, secret)
    _not_after_today("drawn_on", drawn_on, clock)
    with _locked(engine, authorisation) as session:
        line = fact_rows.timeline(session, authorisation)
        if drawn_on < line.valid_from:
            raise _problem("drawn_on", f"before the authorisation is valid ({line.valid_from})")
        if fact_rows.get_sample(session, authorisation, sample) is not None:
            raise Conflict(f"authorisation {authorisation} already has a sample {sample!r}")
        fact_rows.add_row(
            session,
            Sample(
                authorisation_id=authorisation, id=sample, drawn_on=drawn_on, recorded_by=actor, recorded_at=clock.now
            ),
        )
        added = fact_rows.add_subjects(session, authorisation, sample, hashes, drawn_on)
        _count(session, authorisation, f"sample {authorisation}/{sample}", actor=actor, clock=clock)
    return added


def extend_sample(
    engine: Engine,
    *,
    authorisation: str,
    sample: str,
    on: date,
    subjects: Sequence[str],
    secret: str,
    actor: str,
    clock: Clock,
) -> int:
    """Persons added to a sample later (§91); they are inside the gate only once the sample
    is communicated again. Returns how many were not in it yet."""
    check_texts(("sample", sample, MAX_ID_LENGTH))
    hashes = _hashes(subjects, secret)
    _not_after_today("on", on, clock)
    with _locked(engine, authorisation) as session:
        found = _sample(session, authorisation, sample)
        if on < found.drawn_on:
            raise _problem("on", f"before the sample was drawn ({found.drawn_on})")
        added = fact_rows.add_subjects(session, authorisation, sample, hashes, on)
        if added:
            _count(session, authorisation, f"sample {authorisation}/{sample} extended", actor=actor, clock=clock)
    return added


def communicate_sample(
    engine: Engine,
    *,
    authorisation: str,
    sample: str,
    on: date,
    to: Sequence[str],
    actor: str,
    clock: Clock,
) -> None:
    """A sample communicated to security consultants of the authorisation (§92, §100): to those
    its sample-gate is ``owed_to`` where it names some, else to any of its security consultants."""
    if not to:
        raise _problem("to", "at least one security consultant")
    _not_after_today("communicated_on", on, clock)
    with _locked(engine, authorisation) as session:
        found = _sample(session, authorisation, sample)
        if on < found.drawn_on:
            raise _problem("communicated_on", f"before the sample was drawn ({found.drawn_on})")
        roles = fact_rows.roles(session, authorisation)
        consultants = {party for party, held in roles.items() if "security-consultant" in held}
        # the parties the gate is owed to, which the document holds to be security consultants
        owed = set(roles).intersection(fact_rows.gate_owed_to(session, authorisation))
        problems = [
            Problem("", f"to[{index}]", f"{party!r} is not a security-consultant party of {authorisation}")
            if party not in consultants
            else Problem(
                "", f"to[{index}]", f"{party!r} is not one the sample-gate is owed to ({', '.join(sorted(owed))})"
            )
            for index, party in enumerate(to)
            if party not in (owed or consultants)
        ]
        if problems:
            raise Invalid(problems)
        fact_rows.add_row(
            session,
            SampleCommunication(
                authorisation_id=authorisation,
                sample_id=sample,
                communicated_on=on,
                recipients=sorted(set(to)),
                recorded_by=actor,
                recorded_at=clock.now,
            ),
        )
        _count(session, authorisation, f"sample {authorisation}/{sample} communicated", actor=actor, clock=clock)


def record_declaration(
    engine: Engine,
    *,
    authorisation: str,
    user: str,
    signed_on: date,
    evidence: str | None = None,
    supersedes: int | None = None,
    actor: str,
    clock: Clock,
) -> int:
    """A user of the authorisation signed the declaration of honour (§78) on a day; from that
    day on it counts, for the person the user entry names now. A correction (a day mistyped)
    names the declaration it supersedes. A second declaration of the same person on the same
    day is a Conflict (checked under the authorisation's lock, so two at once cannot both pass).
    Returns the declaration's number."""
    check_texts(("user", user, MAX_ID_LENGTH), ("evidence", evidence, MAX_TEXT_LENGTH))
    _not_after_today("signed_on", signed_on, clock)
    with _locked(engine, authorisation) as session:
        line = fact_rows.timeline(session, authorisation)
        if signed_on < line.decided_on:
            raise _problem("signed_on", f"before the decision of {line.decided_on}: users sign once it is made (§78)")
        listed = fact_rows.listed_user(session, authorisation, user)
        if listed is None:
            raise NotFound(f"authorisation {authorisation} lists no user {user!r}")
        signatory = (authorisation, user, listed.name, listed.organisation_id)
        if supersedes is not None:  # only a declaration of the person the entry names now
            earlier = fact_rows.get_declaration(session, supersedes)
            found = (
                None
                if earlier is None
                else (earlier.authorisation_id, earlier.user_id, earlier.user_name, earlier.organisation_id)
            )
            _correctable(session, Declaration, supersedes, found, signatory, f"{authorisation}/{user}")
        if fact_rows.declared_on(session, signatory, signed_on, besides=supersedes):
            raise Conflict(f"a declaration of {authorisation}/{user} signed on {signed_on} is recorded already")
        row = Declaration(
            authorisation_id=authorisation,
            user_id=user,
            user_name=listed.name,
            organisation_id=listed.organisation_id,
            signed_on=signed_on,
            supersedes_id=supersedes,
        )
        _record_fact(session, row, evidence, f"declaration of {authorisation}/{user}", actor=actor, clock=clock)
    assert row.id is not None
    return row.id


def record_event(
    engine: Engine,
    *,
    authorisation: str,
    event: str,
    occurred_on: date,
    evidence: str | None = None,
    actor: str,
    clock: Clock,
) -> None:
    """An event happened (§88: a processor was engaged): every on-event condition it triggers
    is due ``within`` after that day. An event no condition of the authorisation waits for is
    refused, so a misspelt one does not pass silently."""
    check_texts(("event", event, MAX_ID_LENGTH), ("evidence", evidence, MAX_TEXT_LENGTH))
    _not_after_today("occurred_on", occurred_on, clock)
    with _locked(engine, authorisation) as session:
        line = fact_rows.timeline(session, authorisation)
        if occurred_on < line.decided_on:
            raise _problem("occurred_on", f"before the decision of {line.decided_on}")
        triggers = fact_rows.triggers(session, authorisation)
        if event not in triggers:
            waiting = ", ".join(sorted(triggers)) or "none"
            raise _problem(
                "event", f"no on-event condition of {authorisation} waits for {event!r} (it waits for: {waiting})"
            )
        if fact_rows.occurred_on(session, authorisation, event, occurred_on):
            raise Conflict(f"event {event} of {authorisation} on {occurred_on} is recorded already")
        row = ConditionEvent(authorisation_id=authorisation, event=event, occurred_on=occurred_on)
        _record_fact(session, row, evidence, f"event {event} of {authorisation}", actor=actor, clock=clock)


def _record_fact(
    session: Session, row: RecordedFact, evidence: str | None, summary: str, *, actor: str, clock: Clock
) -> None:
    """A declaration or an event with its evidence, who recorded it and when: one registry change."""
    row.evidence, row.recorded_by, row.recorded_at = (evidence or "").strip(), actor, clock.now
    fact_rows.add_row(session, row)
    _count(session, row.authorisation_id, summary, actor=actor, clock=clock)


def _sample(session: Session, authorisation: str, sample: str) -> Sample:
    fact_rows.timeline(session, authorisation)  # raises NotFound for an unknown authorisation
    found = fact_rows.get_sample(session, authorisation, sample)
    if found is None:
        raise NotFound(f"authorisation {authorisation} has no sample {sample!r}")
    return found


def change_status(
    engine: Engine, *, authorisation: str, kind: ChangeKind, on: date, reason: str, actor: str, clock: Clock
) -> tuple[str, int]:
    """Suspend, reinstate or revoke from a day on; returns the resulting status and version."""
    check_texts(("reason", reason, MAX_TEXT_LENGTH))
    change = StatusChange(kind, on, reason.strip())
    # A change dated in the future would stand before every later change, which must come in
    # date order, and so lock the authorisation; a planned change is recorded on its day.
    _not_after_today("on", on, clock)
    with _locked(engine, authorisation) as session:
        check_change(fact_rows.timeline(session, authorisation), change)
        note = f"{kind} from {on}: {change.reason}"
        version = registry_rows.add_version(session, authorisation, actor=actor, note=note, now=clock.now)
        fact_rows.add_status_change(session, authorisation, change, version=version, actor=actor, now=clock.now)
        _count(session, authorisation, f"{kind} {authorisation}", actor=actor, clock=clock)
    return RESULTING_STATUS[kind], version
