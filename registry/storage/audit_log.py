"""The tamper-evident decision log: every decision is appended before it is answered.

Three layers, each catching what the one before cannot:

1. **A hash chain.** Each entry carries the SHA-256 of its content, which includes the previous
   entry's hash: an edited, deleted or reordered entry breaks the chain where it happened. Anyone
   can recompute it, also from an export, but so can anyone who may write to the database.
2. **MACs under a key outside the database.** Each entry's hash, and the head (last seq, last
   hash), carry an HMAC-SHA256 under a key derived from the server's secret key. With write
   access to the database alone one cannot recompute them, so a rewritten, forged or appended
   entry, and a head rewound after cutting off the end, are detected by whoever holds the key.
3. **Signed checkpoints** (``authreg.services.checkpoints``): the seq and head hash signed with Ed25519
   and kept outside the database. They expose what MACs cannot (a log wiped or rolled back to
   an older copy of itself) and let anyone holding only the public key check an export.

Appending locks the single ``audit_head`` row first, so appenders in several processes (or on
several hosts sharing PostgreSQL) form one chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from sqlalchemy import Text, type_coerce
from sqlmodel import Session, select

from authreg.domain.decisions import Decision
from authreg.domain.requests import DecisionRequest
from authreg.storage.models import AuditEntry, AuditHead
from authreg.storage.plain_writes import PlainStatement, PlainWrite

GENESIS = "0" * 64


def _utc_text(moment: datetime) -> str:
    """One spelling of a moment whatever the database gives back (SQLite drops the offset)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# What the hash covers: every field of an entry but the hash itself, by the names it is hashed
# under and the columns that hold them.
_HASHED = {
    "seq": "seq",
    "decision_id": "decision_id",
    "asked_at": "asked_at",
    "asked_by": "asked_by",
    "evaluated_at": "evaluated_at",
    "request": "request",
    "decision": "decision",
    "reasons": "reasons",
    "authorisation": "authorisation_id",
    "flow": "flow_id",
    "registry_version": "registry_version",
    "previous_hash": "previous_hash",
}


def content(entry: AuditEntry) -> dict[str, Any]:
    return _content({column: getattr(entry, column) for column in _HASHED.values()})


def _content(row: dict[str, Any]) -> dict[str, Any]:
    hashed = {name: row[column] for name, column in _HASHED.items()}
    hashed["asked_at"] = _utc_text(hashed["asked_at"])
    return hashed


def entry_hash(entry: AuditEntry) -> str:
    return hash_of(content(entry))


def hash_of(fields: dict[str, Any]) -> str:
    """The chain hash of an entry's content: public, so an export can be checked without a key."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def entry_mac(key: bytes, hashed: str) -> str:
    return hmac.new(key, f"entry|{hashed}".encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, head: AuditHead) -> str:
    """Seals where the chain ends (and where its keyed part begins): cutting entries off the end
    and rewinding the head needs a MAC nobody without the key can make."""
    return _head_mac(key, head.seq, head.entry_hash, head.keyed_from)


def _head_mac(key: bytes, seq: int, entry_hash: str, keyed_from: int) -> str:
    return hmac.new(key, f"head|{seq}|{entry_hash}|{keyed_from}".encode(), hashlib.sha256).hexdigest()


class Logged(NamedTuple):
    """One decision to log: what was asked, the answer, its id, who asked and when."""

    request: DecisionRequest
    decision: Decision
    decision_id: str
    asked_by: str
    asked_at: datetime


# The statements of ``append``: it runs on every decision, so plainly (``plain_writes``).
_MOVE = PlainStatement(
    "UPDATE audit_head SET seq = seq + :count WHERE id = 1"
    " AND (SELECT registry_id FROM registry_identity WHERE id = 1) = :registry"
    " RETURNING seq, entry_hash, keyed_from",
    AuditHead.__table__,  # type: ignore[attr-defined]
)
_COLUMNS = [column.key for column in AuditEntry.__table__.columns]  # type: ignore[attr-defined]
_INSERT = PlainStatement(
    f"INSERT INTO audit_entry ({', '.join(_COLUMNS)}) VALUES ({', '.join(f':{name}' for name in _COLUMNS)})",
    AuditEntry.__table__,  # type: ignore[attr-defined]
)
# PostgreSQL seals the head in the statement that inserts the entries (a data-modifying CTE),
# and takes the entries as one JSON array, a row per entry: one statement however many there
# are, and one value to bind (binding each of an entry's cells on the client cost more than
# the rest of writing it). SQLite has no such CTE.
_INSERT_SEALED = PlainStatement(
    "WITH sealed AS (UPDATE audit_head SET entry_hash = :sealed_hash, head_mac = :head_mac WHERE id = 1)"
    f" INSERT INTO audit_entry ({', '.join(_COLUMNS)})"
    f" SELECT {', '.join(_COLUMNS)} FROM json_populate_recordset(CAST(NULL AS audit_entry), :entries)",
    AuditEntry.__table__,  # type: ignore[attr-defined]
)
_SEAL = PlainStatement(
    "UPDATE audit_head SET entry_hash = :entry_hash, head_mac = :head_mac WHERE id = 1",
    AuditHead.__table__,  # type: ignore[attr-defined]
)


def append(write: PlainWrite, logged: Sequence[Logged], *, key: bytes, registry_id: str) -> Anchor | None:
    """Chain decisions onto the log in the order given, each with its MAC under ``key``, and
    return where the chain now ends; None, writing nothing, unless the database is still the
    registry ``registry_id`` (and has a head). The head row is locked once for the lot (its
    update comes first, and checks the registry in the same statement), so a batch, or the
    requests of a group commit, cost one lock and one head update; the entries go in with one
    ``executemany``, as plain statements (the log is written on every decision, and read back
    only by audits)."""
    found = write.rows(_MOVE, {"count": len(logged), "registry": registry_id})
    if not found:
        return None
    last, previous, keyed_from = found[0]
    seq = last - len(logged)
    rows = []
    for request, decision, decision_id, asked_by, asked_at in logged:
        seq += 1
        row = {
            "seq": seq,
            "decision_id": decision_id,
            "asked_at": asked_at,
            "evaluated_at": request.day.isoformat(),
            "request": request.as_logged(),
            "decision": decision.decision,
            "reasons": [reason.as_dict() for reason in decision.reasons],
            "authorisation_id": decision.authorisation,
            "flow_id": decision.flow,
            "registry_version": decision.registry_version,
            "asked_by": asked_by,
            "previous_hash": previous,
        }
        previous = hash_of(_content(row))
        rows.append({**row, "entry_hash": previous, "entry_mac": entry_mac(key, previous)})
    end = Anchor(last, previous, keyed_from)
    sealed = _head_mac(key, end.seq, end.entry_hash, end.keyed_from)
    if write.dialect.name == "postgresql":
        entries = json.dumps([{**row, "asked_at": row["asked_at"].isoformat()} for row in rows])
        write.run(_INSERT_SEALED, {"entries": entries, "sealed_hash": previous, "head_mac": sealed})
        return end
    if rows:
        write.run_many(_INSERT, rows)
    write.run(_SEAL, {"entry_hash": previous, "head_mac": sealed})
    return end


@dataclass(frozen=True)
class Anchor:
    """Where the chain ends, as a checkpoint signs it: the last entry's seq and hash, and the
    first entry that carries a MAC."""

    seq: int
    entry_hash: str
    keyed_from: int


def head(session: Session) -> Anchor:
    found = session.get(AuditHead, 1)
    return Anchor(found.seq, found.entry_hash, found.keyed_from) if found is not None else Anchor(0, GENESIS, 1)


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found. ``keyed``: the MACs were checked (a key was given); ``legacy``:
    entries written before the chain was keyed; ``anchored_at``: the seq of the signed
    checkpoint the log was held against."""

    entries: int
    broken_at: int | None = None
    problem: str = ""
    keyed: bool = False
    legacy: int = 0
    anchored_at: int | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


@dataclass(frozen=True)
class Unreadable:
    """An entry whose stored cells are not what the log writes (a corrupted cell): it is
    named as broken, never allowed to crash a reader."""

    seq: int | None
    problem: str


def verify(session: Session, *, key: bytes | None = None, anchor: Anchor | None = None) -> Verification:
    """Walk the chain from the first entry; name the first entry that breaks it. With ``key``
    every entry from the head's ``keyed_from`` on, and the head, must carry a valid MAC (the
    head always: it is sealed at the key's first use). With ``anchor`` from a verified
    checkpoint, the entry at its seq must have its hash and the keyed part begin where it did."""
    head = session.get(AuditHead, 1)
    keyed_from = head.keyed_from if head is not None else 1
    previous, expected = GENESIS, 1

    def broken(at: int, problem: str) -> Verification:
        return Verification(expected - 1, at, problem, keyed=key is not None)

    for entry in read(session, select(*_RAW).order_by(AuditEntry.seq)):  # type: ignore[arg-type]
        if isinstance(entry, Unreadable):
            return broken(entry.seq if entry.seq is not None else expected, entry.problem)
        problem = link_problem(
            expected=expected,
            previous=previous,
            seq=entry.seq,
            previous_hash=entry.previous_hash,
            recomputed=entry_hash(entry),
            stated=entry.entry_hash,
        )
        if problem:
            return broken(expected, problem)
        if key is not None and expected >= keyed_from and entry.entry_mac != entry_mac(key, entry.entry_hash):
            return broken(expected, f"entry {expected} lacks the chain key's MAC: written or rewritten without the key")
        if anchor is not None and anchor.seq == expected and anchor.entry_hash != entry.entry_hash:
            return broken(expected, f"entry {expected} is not the entry the checkpoint signed: the log was rewritten")
        previous, expected = entry.entry_hash, expected + 1
    if head is None or head.seq != expected - 1 or head.entry_hash != previous:
        last = head.seq if head else expected
        return broken(expected, f"entries {expected} to {last} are missing from the end")
    if key is not None and head.head_mac != head_mac(key, head):
        return broken(expected, "the head lacks the chain key's MAC: entries were cut off the end, or it was reset")
    if anchor is not None and anchor.seq > head.seq:
        return broken(
            head.seq + 1,
            f"entries {head.seq + 1} to {anchor.seq} are missing: a checkpoint signed {anchor.seq}",
        )
    if anchor is not None and anchor.keyed_from != head.keyed_from:
        return broken(
            min(anchor.keyed_from, head.keyed_from),
            f"the keyed part of the log begins at entry {head.keyed_from}; a checkpoint signed {anchor.keyed_from}",
        )
    return Verification(
        expected - 1,
        keyed=key is not None,
        legacy=min(keyed_from - 1, expected - 1),
        anchored_at=anchor.seq if anchor is not None else None,
    )


def link_problem(
    *, expected: int, previous: str | None, seq: Any, previous_hash: Any, recomputed: str, stated: Any
) -> str | None:
    """Why an entry does not hold its place in the chain (wrong seq, wrong link, content not its
    hash), or None: the one walk step of ``verify`` and of checking an export."""
    if seq != expected:
        return f"entry {expected} is missing (next is {seq})"
    if previous_hash != previous:
        return f"entry {expected} does not follow entry {expected - 1}"
    if recomputed != stated:
        return f"entry {expected} was altered"
    return None


# Every column, read without the ORM's conversions, so that a corrupted cell (SQLite keeps
# whatever is written) is decoded here and reported, not raised while fetching the row.
_RAW = [type_coerce(column, Text).label(column.key) for column in AuditEntry.__table__.columns]  # type: ignore[attr-defined]
_RAW_BY_NAME = {column.key: column for column in _RAW}


def read(session: Session, query: Any) -> Iterable[AuditEntry | Unreadable]:
    """Entries of a query over ``_RAW``, each decoded or named unreadable."""
    for row in session.exec(query):
        cells = row._mapping
        try:
            yield _decoded(cells)
        except (TypeError, ValueError, KeyError) as error:
            seq = cells.get("seq")
            number = int(seq) if isinstance(seq, int) or (isinstance(seq, str) and seq.isdigit()) else None
            yield Unreadable(number, f"entry {number if number is not None else '?'} is unreadable: {error}")


def _decoded(cells: Any) -> AuditEntry:
    def text(name: str, *, optional: bool = False) -> str | None:
        value = cells[name]
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{name} is not a text")
        return value

    def number(name: str) -> int:
        value = cells[name]
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
            raise ValueError(f"{name} is not a whole number")
        return int(value)

    def structure(name: str, kind: type) -> Any:
        value = cells[name]
        value = json.loads(value) if isinstance(value, str) else value
        if not isinstance(value, kind):
            raise ValueError(f"{name} is not a JSON {kind.__name__}")
        return value

    asked_at = cells["asked_at"]
    if isinstance(asked_at, str):
        asked_at = datetime.fromisoformat(asked_at)  # raises ValueError: not a moment
    if not isinstance(asked_at, datetime):
        raise ValueError("asked_at is not a moment")
    reasons = structure("reasons", list)
    if not all(isinstance(reason, dict) and isinstance(reason.get("code"), str) for reason in reasons):
        raise ValueError("reasons are not reasons")
    return AuditEntry(
        seq=number("seq"),
        decision_id=text("decision_id"),
        asked_at=asked_at,
        evaluated_at=text("evaluated_at"),
        request=structure("request", dict),
        decision=text("decision"),
        reasons=reasons,
        authorisation_id=text("authorisation_id", optional=True),
        flow_id=text("flow_id", optional=True),
        registry_version=number("registry_version"),
        asked_by=text("asked_by"),
        previous_hash=text("previous_hash"),
        entry_hash=text("entry_hash"),
        entry_mac=text("entry_mac", optional=True),
    )


def page(
    session: Session,
    *,
    since: date | None = None,
    until: date | None = None,
    decision: str | None = None,
    authorisation: str | None = None,
    after: int = 0,
    limit: int | None = None,
) -> list[AuditEntry | Unreadable]:
    """Entries asked on days ``since`` to ``until`` (UTC, inclusive), after seq ``after``, in order."""
    query = select(*_RAW).where(AuditEntry.seq > after).order_by(AuditEntry.seq)  # type: ignore[arg-type,operator]
    if since is not None:
        query = query.where(AuditEntry.asked_at >= datetime.combine(since, time(), UTC))
    if until is not None:
        query = query.where(AuditEntry.asked_at <= datetime.combine(until, time.max, UTC))
    if decision is not None:
        query = query.where(AuditEntry.decision == decision)
    if authorisation is not None:
        query = query.where(AuditEntry.authorisation_id == authorisation)
    if limit is not None:
        query = query.limit(limit)
    return list(read(session, query))


class Replayed(NamedTuple):
    """A logged decision, as a replay asks it again: the request as logged (the subject still
    hashed) on the day it was evaluated, and the answer given then."""

    seq: int
    request: DecisionRequest
    decision: str


def replayable(session: Session, since: date | None = None) -> Iterator[Replayed | Unreadable]:
    """The decisions asked from ``since`` on (UTC day, inclusive), in order, read with only the
    columns a replay needs (a replay reads every entry of a long log). An entry whose request
    cannot be read back is ``Unreadable``, for the caller to count, never a guess."""
    columns = [_RAW_BY_NAME[name] for name in ("seq", "evaluated_at", "request", "decision")]
    query = select(*columns).order_by(AuditEntry.seq)  # type: ignore[arg-type]
    if since is not None:
        query = query.where(AuditEntry.asked_at >= datetime.combine(since, time(), UTC))
    for seq, evaluated_at, request, decision in session.exec(query):
        try:
            logged = json.loads(request) if isinstance(request, str) else request  # PostgreSQL's JSON comes parsed
            yield Replayed(int(seq), DecisionRequest.from_logged(logged, date.fromisoformat(evaluated_at)), decision)
        except (TypeError, ValueError, KeyError) as error:
            yield Unreadable(int(seq), f"entry {seq}: its request is unreadable: {error}")


def as_record(entry: AuditEntry | Unreadable) -> dict[str, Any]:
    if isinstance(entry, Unreadable):
        return {"seq": entry.seq, "unreadable": entry.problem}
    return {**content(entry), "entry_hash": entry.entry_hash, "entry_mac": entry.entry_mac}
