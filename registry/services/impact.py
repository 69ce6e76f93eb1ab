"""The impact of a change before it is made: the decisions of the audit log, asked again of the
registry as it is and as it would be after the change, and the answers that would flip.

The change is rehearsed (``apply_documents(rehearse=...)``): written in a transaction that is
rolled back, and the authorisations it touches are read back inside it by the loader the
decisions use, so the amended policy is the one the change would really compile. Both policies
then replay the same logged requests, each on the day it was evaluated, the data subject still
as its keyed hash (samples are kept by hash too, so a gate is weighed as it was).

What is compared is the registry now against the registry after the change, not the logged
answer: facts recorded since a decision (a declaration, a communicated sample, a suspension)
change today's answer whatever the amendment does. How many logged answers today's registry
gives otherwise is reported beside the flips (``drifted``), so neither is mistaken for the other.

Only Casbin's verdict is replayed (no reasons are worded), and only the requests a change can
flip are asked twice: an answer can change only through a flow of an authorisation the change
touches (or anywhere, when organisations or the taxonomy change).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from authreg.domain.decisions import Verdict, decide
from authreg.domain.documents import Document
from authreg.domain.errors import Conflict
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import DecisionRequest
from authreg.domain.snapshot import AuthorisationView, Category, Snapshot
from authreg.services.apply import ApplyReport, apply_documents
from authreg.storage import registry_rows
from authreg.storage.audit_log import Replayed, replayable
from authreg.storage.sessions import reading
from authreg.storage.snapshot_loader import load_authorisations, load_categories, load_groups, load_snapshot

GROUPINGS = ("authorisation", "organisation", "user", "data_category")


@dataclass(frozen=True)
class Flip:
    """A logged request whose answer the change would turn round."""

    seq: int  # the audit entry replayed
    request: DecisionRequest
    before: str
    after: str
    authorisation: str  # the one that allowed before (allow -> deny) or would allow after
    reasons: tuple[str, ...]  # after an allow -> deny, the codes it would be denied with

    def as_dict(self) -> dict[str, Any]:
        """The flip as the CLI lists it. The person asked about is not named, not even by the
        keyed hash the log keeps: that the request named one is enough to judge the change."""
        asked = {key: value for key, value in self.request.as_logged().items() if key != "data_subject_hash"}
        return {
            "seq": self.seq,
            "request": {**asked, "named_person": bool(self.request.subject), "evaluated_at": self.request.day_text},
            "before": self.before,
            "after": self.after,
            "authorisation": self.authorisation,
            "reasons": list(self.reasons),
        }


@dataclass
class ImpactReport:
    apply: ApplyReport
    since: date | None
    replayed: int = 0  # readable entries asked again
    unreadable: int = 0  # entries whose request could not be read back (counted, not guessed)
    drifted: int = 0  # logged answers today's registry gives otherwise, whatever the change
    flips: list[Flip] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        turned = Counter(f"{flip.before}_to_{flip.after}" for flip in self.flips)
        return {"allow_to_deny": turned["allow_to_deny"], "deny_to_allow": turned["deny_to_allow"]}

    def groups(self) -> dict[str, list[dict[str, Any]]]:
        """The flips counted by authorisation, organisation, user and category, most first."""
        found: dict[str, list[dict[str, Any]]] = {}
        for grouping in GROUPINGS:
            counted: dict[str, Counter[str]] = {}
            for flip in self.flips:
                key = flip.authorisation if grouping == "authorisation" else getattr(flip.request, grouping)
                counted.setdefault(key, Counter())[f"{flip.before}_to_{flip.after}"] += 1
            found[grouping] = [
                {grouping: key, "allow_to_deny": c["allow_to_deny"], "deny_to_allow": c["deny_to_allow"]}
                for key, c in sorted(counted.items(), key=lambda item: (-item[1].total(), item[0]))
            ]
        return found

    def as_dict(self, *, flips: bool = True) -> dict[str, Any]:
        """The report; without the flips one by one where the reader may not read the audit log
        (over HTTP and on the pages, for privacy officers): counts and groups say what changes."""
        listed = {"flips": [flip.as_dict() for flip in self.flips]} if flips else {}
        return {
            "since": self.since.isoformat() if self.since else None,
            "replayed": self.replayed,
            "unreadable": self.unreadable,
            "drifted": self.drifted,
            **self.counts(),
            "groups": self.groups(),
            **listed,
        }


@dataclass
class _Amended:
    """What the rehearsed change makes of the registry: the views of the authorisations it
    writes (and those they replace), and the organisations and the taxonomy when it changes
    them. Read inside the rehearsal, which on SQLite holds the write lock and so holds back the
    logging of decisions: only what the change wrote is read there, never the whole registry."""

    version: int = 0
    views: dict[str, AuthorisationView] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    registry_wide: bool = False
    groups: dict[str, frozenset[str]] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)

    def read(self, session: Session, report: ApplyReport) -> None:
        self.version = registry_rows.registry_version(session)
        self.written = report.written
        self.views = load_authorisations(session, report.written)
        if report.touched is None:
            self.registry_wide = True
            self.groups = load_groups(session)
            self.categories = load_categories(session)

    def applied_to(self, policy: PolicyEngine, version: int) -> PolicyEngine:
        """``policy`` (the registry as it is, read after the rehearsal) as the change would leave
        it; a Conflict when the registry is no longer at ``version``, the one the rehearsal
        began from: another change was made meanwhile, and ``policy`` holds it too. (Versions
        are compared, not counted on: PostgreSQL does not take back a number a rollback used.)"""
        if policy.snapshot.version != version:
            raise Conflict("the registry changed while the impact was worked out; ask again")
        if not self.registry_wide:
            policy.replace(self.views, self.written, self.version)
            return policy
        views = {**policy.snapshot.authorisations, **self.views}
        return PolicyEngine(Snapshot(self.version, views, self.groups, self.categories))


def impact(
    engine: Engine,
    documents: list[Document],
    *,
    since: date | None,
    actor: str,
    now: datetime,
    expected_versions: Mapping[str, int | None] | None = None,
) -> ImpactReport:
    """What applying ``documents`` would change in the answers logged since ``since`` (all of
    them for None). Writes nothing. Invalid documents are refused as ``apply`` refuses them, and
    a version other than ``expected_versions`` says is a Conflict, as for ``apply``."""
    amended = _Amended()
    with reading(engine) as session:
        began = registry_rows.registry_version(session)
    applied = apply_documents(
        engine, documents, actor=actor, now=now, expected_versions=expected_versions, rehearse=amended.read
    )
    report = ImpactReport(applied, since)
    with reading(engine) as session:
        policy = PolicyEngine(load_snapshot(session))
        entries = list(replayable(session, since))
    logged = [entry for entry in entries if isinstance(entry, Replayed)]
    report.unreadable = len(entries) - len(logged)
    report.replayed = len(logged)
    with policy.lock:
        before = [policy.grant(entry.request) for entry in logged]
    report.drifted = sum(
        (granting is not None) != (entry.decision == Verdict.ALLOW)
        for entry, granting in zip(logged, before, strict=True)
    )
    if not report.apply.changed:
        return report
    affected = set(amended.written)
    policy = amended.applied_to(policy, began)
    with policy.lock:
        for entry, was in zip(logged, before, strict=True):
            if not amended.registry_wide and was is not None and was.authorisation not in affected:
                continue  # allowed through a flow the change leaves alone: it still is
            after = policy.grant(entry.request)
            if (was is None) == (after is None):
                continue
            granting = was or after
            assert granting is not None
            reasons = () if after is not None else tuple(r.code for r in decide(policy, entry.request).reasons)
            report.flips.append(
                Flip(entry.seq, entry.request, _verdict(was), _verdict(after), granting.authorisation, reasons)
            )
    return report


def _verdict(granting: object) -> str:
    return Verdict.DENY if granting is None else Verdict.ALLOW
