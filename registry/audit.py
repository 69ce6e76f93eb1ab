"""The tamper-evident decision log: every decision is appended before it is answered, and each
entry carries the SHA-256 of the previous one, so an edited, deleted or reordered entry breaks
the chain where it happened.

Appending locks the single ``audit_head`` row first, so appenders in several processes (or on
several hosts sharing PostgreSQL) form one chain.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from registry.decisions import Decision, DecisionRequest
from registry.models import AuditEntry, AuditHead

GENESIS = "0" * 64
# What a security consultant looks at even when it was denied: persons outside the samples,
# users without a declaration of honour, requests outside the validity window.
REVIEW_CODES = frozenset({"subject-not-in-communicated-sample", "declaration-missing", "not-yet-valid", "expired"})
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
)


def _utc_text(moment: datetime) -> str:
    """One spelling of a moment whatever the database gives back (SQLite drops the offset)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content(entry: AuditEntry) -> dict[str, Any]:
    """What the hash covers: every field of the entry but the hash itself."""
    return {
        "seq": entry.seq,
        "decision_id": entry.decision_id,
        "asked_at": _utc_text(entry.asked_at),
        "asked_by": entry.asked_by,
        "evaluated_at": entry.evaluated_at,
        "request": entry.request,
        "decision": entry.decision,
        "reasons": entry.reasons,
        "authorisation": entry.authorisation_id,
        "flow": entry.flow_id,
        "registry_version": entry.registry_version,
        "previous_hash": entry.previous_hash,
    }


def entry_hash(entry: AuditEntry) -> str:
    text = json.dumps(content(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def append(
    session: Session,
    decided: Sequence[tuple[DecisionRequest, Decision, str]],
    *,
    asked_by: str,
    asked_at: datetime,
) -> list[AuditEntry]:
    """Chain (request, decision, decision id) entries onto the log; the head row is locked
    once for the lot, so a batch costs one lock and one head update."""
    count = len(decided)
    session.exec(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + count))  # type: ignore[call-overload,arg-type]
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
    previous, seq = head.entry_hash, head.seq - count
    entries = []
    for request, decision, decision_id in decided:
        seq += 1
        entry = AuditEntry(
            seq=seq,
            decision_id=decision_id,
            asked_at=asked_at,
            evaluated_at=request.day.isoformat(),
            request=request.as_logged(),
            decision=decision.decision,
            reasons=[reason.as_dict() for reason in decision.reasons],
            authorisation_id=decision.authorisation,
            flow_id=decision.flow,
            registry_version=decision.registry_version,
            asked_by=asked_by,
            previous_hash=previous,
            entry_hash="",
        )
        entry.entry_hash = previous = entry_hash(entry)
        entries.append(entry)
    head.entry_hash = previous
    session.add_all(entries)
    session.add(head)
    session.flush()
    return entries


@dataclass(frozen=True)
class Verification:
    entries: int
    broken_at: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(session: Session) -> Verification:
    """Walk the chain from the first entry; name the first entry that breaks it."""
    previous, expected = GENESIS, 1
    for entry in session.exec(select(AuditEntry).order_by(AuditEntry.seq)):  # type: ignore[arg-type]
        assert entry.seq is not None
        if entry.seq != expected:
            return Verification(expected - 1, expected, f"entry {expected} is missing (next is {entry.seq})")
        if entry.previous_hash != previous:
            return Verification(expected - 1, entry.seq, f"entry {entry.seq} does not follow entry {entry.seq - 1}")
        if entry_hash(entry) != entry.entry_hash:
            return Verification(expected - 1, entry.seq, f"entry {entry.seq} was altered")
        previous, expected = entry.entry_hash, expected + 1
    head = session.get(AuditHead, 1)
    if head is None or head.seq != expected - 1 or head.entry_hash != previous:
        last = head.seq if head else expected
        return Verification(expected - 1, expected, f"entries {expected} to {last} are missing from the end")
    return Verification(expected - 1)


def page(
    session: Session,
    *,
    since: date | None = None,
    until: date | None = None,
    decision: str | None = None,
    authorisation: str | None = None,
    after: int = 0,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Entries asked on days ``since`` to ``until`` (UTC, inclusive), after seq ``after``, in order."""
    query = select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)  # type: ignore[arg-type,operator]
    if since is not None:
        query = query.where(AuditEntry.asked_at >= datetime.combine(since, time(), UTC))
    if until is not None:
        query = query.where(AuditEntry.asked_at < datetime.combine(until + timedelta(days=1), time(), UTC))
    if decision is not None:
        query = query.where(AuditEntry.decision == decision)
    if authorisation is not None:
        query = query.where(AuditEntry.authorisation_id == authorisation)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def as_record(entry: AuditEntry) -> dict[str, Any]:
    return {**content(entry), "entry_hash": entry.entry_hash}


def to_review(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decisions a security consultant should look at, allowed or not."""
    return [r for r in records if REVIEW_CODES & {reason["code"] for reason in r["reasons"]}]


def jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)


def csv_text(records: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = dict(record)
        row["reasons"] = " ".join(reason["code"] for reason in record["reasons"])
        row["request"] = json.dumps(record["request"], ensure_ascii=False, sort_keys=True)
        writer.writerow(row)
    return out.getvalue()
