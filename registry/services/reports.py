"""Read-side answers, for every surface (the API, the CLI) so that none opens a session of its
own: the authorisations and their history, the state of every condition as of a day, the
decision log (and its exports: JSON lines, CSV, what a security consultant should review), and
what ``/health`` reports."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from authreg.domain.category_tree import Node, category_tree
from authreg.domain.citations import Statement, paragraph_index
from authreg.domain.conditions import AuthorisationFacts, ConditionState, states
from authreg.domain.errors import NotFound
from authreg.domain.lifecycle import IN_FORCE, Milestone, Timeline, milestones
from authreg.services.apply import diff_text
from authreg.storage import audit_log, fact_rows, identity, registry_rows
from authreg.storage.models import AuthorisationVersion
from authreg.storage.sessions import reading

# What a security consultant looks at (§90-92, §100): persons outside the samples, requests that
# name no person where the gate wants one, staff without a declaration, use outside validity.
REVIEW_CODES = frozenset(
    {
        "subject-not-in-communicated-sample",
        "data-subject-required",
        "declaration-missing",
        "not-yet-valid",
        "expired",
    }
)
EXPORT_FIELDS = (
    "seq",
    "decision_id",
    "asked_at",
    "asked_by",
    "evaluated_at",
    "decision",
    "authorisation",
    "flow",
    "reasons",
    "request",
    "registry_version",
    "previous_hash",
    "entry_hash",
    "entry_mac",
)


def condition_states(
    engine: Engine, *, at: date, window_days: int, authorisation: str | None = None
) -> list[ConditionState]:
    """Every condition (of one authorisation, or of all) as of ``at``, ordered by authorisation."""
    with reading(engine) as session:
        if authorisation is not None:
            fact_rows.timeline(session, authorisation)  # NotFound for an unknown id
        gathered = fact_rows.facts(session, None if authorisation is None else [authorisation])
    return [state for facts in gathered for state in states(facts, at, window_days)]


@dataclass(frozen=True)
class AuthorisationSummary:
    """One line of the register: status and whether it is in force, as of a day."""

    id: str
    title: str
    version: int
    valid_from: date
    valid_until: date | None
    status: str
    state: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "state": self.state,
            "version": self.version,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "title": self.title,
        }


def authorisation_summaries(
    engine: Engine,
    *,
    at: date,
    status: str | None = None,
    organisation: str | None = None,
    purpose: str | None = None,
    category: str | None = None,
    in_force: bool = False,
) -> list[AuthorisationSummary]:
    """Every authorisation with its status as of ``at``, so a suspension recorded for that
    day shows, whatever status the document was registered with; narrowed to one status, to
    those an organisation is a party of, with a flow for a purpose or granting a data category
    (or a broader one), or to those in force that day."""
    with reading(engine) as session:
        rows = registry_rows.authorisations(session)
        lines = fact_rows.timelines(session)
        wanted: list[set[str]] = []
        if organisation is not None:
            wanted.append(registry_rows.party_of(session, organisation))
        if purpose is not None:
            wanted.append(registry_rows.with_purpose(session, purpose))
        if category is not None:
            wanted.append(registry_rows.granting_category(session, category))
    found = [
        AuthorisationSummary(
            id=row.id,
            title=row.title,
            version=row.version,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            status=lines[row.id].status_on(at),
            state=lines[row.id].state_on(at),
        )
        for row in rows
    ]
    return [
        summary
        for summary in found
        if (status is None or summary.status == status)
        and all(summary.id in ids for ids in wanted)
        and (not in_force or summary.state == IN_FORCE)
    ]


def status_counts(engine: Engine, *, at: date) -> dict[str, int]:
    return dict(Counter(summary.status for summary in authorisation_summaries(engine, at=at)))


def authorisation_detail(engine: Engine, authorisation: str) -> tuple[dict[str, Any], Timeline]:
    """The stored document and its life (status changes, replacement) for one authorisation."""
    with reading(engine) as session:
        return registry_rows.stored_document(session, authorisation), fact_rows.timeline(session, authorisation)


@dataclass(frozen=True)
class AuthorisationRecord:
    """Everything one authorisation's page shows, read at one moment: the stored document and
    its version, its facts (life, conditions, fulfilments, samples, events) with the conditions'
    states on a day, its versions, who declared when, and the taxonomy its flows grant from."""

    document: dict[str, Any]
    version: int
    facts: AuthorisationFacts
    states: list[ConditionState]
    versions: list[AuthorisationVersion]
    declared: dict[str, date]
    categories: dict[str, dict[str, Any]]

    @property
    def milestones(self) -> list[Milestone]:
        """Its life in date order, to the last day the recipient may keep the data."""
        retention = self.document.get("retention_until")
        return milestones(self.facts.timeline, date.fromisoformat(retention) if retention else None)

    @cached_property
    def trees(self) -> dict[str, list[Node]]:
        """Per flow, what its categories grant, as trees."""
        return {flow["id"]: category_tree(flow["data_categories"], self.categories) for flow in self.document["flows"]}

    @property
    def cited(self) -> dict[int, list[Statement]]:
        """Per paragraph of the decision, the statements citing it."""
        return paragraph_index(self.document)


def authorisation_record(engine: Engine, authorisation: str, *, at: date, window_days: int) -> AuthorisationRecord:
    """One authorisation as its page shows it, read in one session (so the document, its facts
    and its versions are of one moment); NotFound for an unknown id."""
    with reading(engine) as session:
        found = registry_rows.current_documents(session, [authorisation])
        if authorisation not in found:
            raise NotFound(f"no authorisation {authorisation!r}")
        version, document = found[authorisation]
        # a declaration counts for the person the user entry names now, as decisions count it
        listed = {(u["id"], u["name"], u["organisation"]) for u in document.get("authorised_users", [])}
        (facts,) = fact_rows.facts(session, [authorisation])
        declared = fact_rows.declarations(session, [authorisation])
        return AuthorisationRecord(
            document=document,
            version=version,
            facts=facts,
            states=states(facts, at, window_days),
            versions=registry_rows.versions(session, authorisation),
            declared={user: day for (_, user, name, org), day in declared.items() if (user, name, org) in listed},
            categories=registry_rows.categories(session),
        )


def usable_categories(engine: Engine, authorisation: str | None) -> dict[str, dict[str, Any]]:
    """The data categories an authorisation (a new one: None) may grant, the shared ones and its
    own: id -> entry (label, parent, national register number, sensitive)."""
    with reading(engine) as session:
        return registry_rows.usable_categories(session, authorisation)


def versioned_document(engine: Engine, authorisation: str) -> tuple[int, dict[str, Any]]:
    """The current version number and stored document of an authorisation."""
    with reading(engine) as session:
        found = registry_rows.current_documents(session, [authorisation])
    if authorisation not in found:
        raise NotFound(f"no authorisation {authorisation!r}")
    return found[authorisation]


def history(engine: Engine, authorisation: str) -> tuple[Timeline, list[AuthorisationVersion]]:
    """Every version of an authorisation (who, when, why) and its dated status changes."""
    with reading(engine) as session:
        return fact_rows.timeline(session, authorisation), registry_rows.versions(session, authorisation)


def version_diff(engine: Engine, authorisation: str, before: int, after: int) -> str:
    """What changed between two versions of an authorisation, as a unified diff of their YAML."""
    with reading(engine) as session:
        found = {row.version: row.document for row in registry_rows.versions(session, authorisation)}
    if not found:
        raise NotFound(f"no authorisation {authorisation!r}")
    missing = [version for version in (before, after) if version not in found]
    if missing:
        raise NotFound(f"{authorisation!r} has no version {missing[0]} (it has 1 to {max(found)})")
    return diff_text(found[before], found[after], f"version {before}", f"version {after}")


def audit_records(engine: Engine, **filters: Any) -> list[dict[str, Any]]:
    """Decision log entries as records (``audit_log.as_record``), oldest first, chosen by the
    keyword filters of ``audit_log.page`` (days asked, decision, authorisation, cursor, limit)."""
    with reading(engine) as session:
        found = audit_log.page(session, **filters)
    return [audit_log.as_record(entry) for entry in found]


def registry_version_for(engine: Engine, secret: str) -> int:
    """The registry's version, once the secret key is known to be this registry's
    (``KeyMismatch`` otherwise): what ``/health`` reports before saying decisions can be logged."""
    with reading(engine) as session:
        identity.expect_key(session, secret)
        return registry_rows.registry_version(session)


def to_review(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decisions a security consultant should look at, allowed or not (and unreadable entries)."""
    return [r for r in records if "unreadable" in r or REVIEW_CODES & {reason["code"] for reason in r["reasons"]}]


def jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)


def csv_text(records: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        if "unreadable" in record:
            writer.writerow({"seq": record["seq"], "decision": f"unreadable: {record['unreadable']}"})
            continue
        row = dict(record)
        row["reasons"] = " ".join(reason["code"] for reason in record["reasons"])
        row["request"] = json.dumps(record["request"], ensure_ascii=False, sort_keys=True)
        writer.writerow(row)
    return out.getvalue()
