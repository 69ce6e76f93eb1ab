"""Signed checkpoints of the audit log, kept outside the database.

A checkpoint is the registry id, the seq and hash of the chain's last entry and the time,
signed with Ed25519. Whoever keeps checkpoints (the server's checkpoint folder, an outside
witness polling ``GET /api/v1/audit/checkpoint``) can later prove that the log held at least
that many entries with exactly that content: a log wiped, cut short, rolled back to an older
copy or rewritten before the checkpoint no longer matches it, whatever else was recomputed.
Verifying needs only the public key: an export of the log and a checkpoint can be checked by
someone who trusts neither the operator nor the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine

from authreg.domain.errors import Invalid, Problem, RegistryError
from authreg.storage import audit_log, identity
from authreg.storage.audit_log import GENESIS, Anchor, Verification, hash_of, link_problem
from authreg.storage.sessions import reading

log = logging.getLogger(__name__)
_SIGNED = ("registry_id", "seq", "head_hash", "keyed_from", "signed_at", "key_id")


class CheckpointInvalid(RegistryError):
    """A checkpoint whose signature does not hold under the trusted public key."""


@dataclass(frozen=True)
class Checkpoint:
    registry_id: str
    seq: int
    head_hash: str
    keyed_from: int  # where the MACs begin: moving it would declare keyed entries unkeyed
    signed_at: str  # UTC, ISO 8601
    key_id: str  # SHA-256 of the raw public key: which key signed, without trusting it
    signature: str = ""  # hex

    def payload(self) -> bytes:
        signed = {name: getattr(self, name) for name in _SIGNED}
        return json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def anchor(self) -> Anchor:
        return Anchor(self.seq, self.head_hash, self.keyed_from)


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> str:
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def signing_key(path: Path) -> Ed25519PrivateKey:
    """The server's signing key; made on first use (readable by its owner only), with the
    public key beside it (``<name>.pub``) to hand to witnesses and auditors."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = Ed25519PrivateKey.generate()
        pem = made.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        public_file(path).write_text(public_pem(made.public_key()), encoding="utf-8")
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise RegistryError(f"{path} is not an Ed25519 private key")
    return loaded


def public_file(private_path: Path) -> Path:
    return private_path.with_name(private_path.name + ".pub")


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise Invalid([Problem(str(path), "", f"not a PEM public key: {error}")]) from error
    if not isinstance(loaded, Ed25519PublicKey):
        raise Invalid([Problem(str(path), "", "not an Ed25519 public key")])
    return loaded


def sign(key: Ed25519PrivateKey, *, registry_id: str, end: Anchor, now: datetime) -> Checkpoint:
    unsigned = Checkpoint(
        registry_id=registry_id,
        seq=end.seq,
        head_hash=end.entry_hash,
        keyed_from=end.keyed_from,
        signed_at=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        key_id=key_id(key.public_key()),
    )
    return Checkpoint(**{**unsigned.as_dict(), "signature": key.sign(unsigned.payload()).hex()})


def check(checkpoint: Checkpoint, public: Ed25519PublicKey) -> None:
    """Raise ``CheckpointInvalid`` unless the trusted key signed exactly this checkpoint."""
    try:
        public.verify(bytes.fromhex(checkpoint.signature), checkpoint.payload())
    except (InvalidSignature, ValueError) as error:
        raise CheckpointInvalid(
            f"the checkpoint of entry {checkpoint.seq} is not signed by the trusted public key"
        ) from error


def write(checkpoint: Checkpoint, folder: Path) -> Path:
    """One file per checkpoint, named by seq, written whole (temporary file, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint-{checkpoint.seq:012d}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(checkpoint.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def read(path: Path) -> Checkpoint:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = Checkpoint(**{name: data[name] for name in (*_SIGNED, "signature")})
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise Invalid([Problem(str(path), "", f"not a checkpoint: {error}")]) from error
    for name, kind in _TYPES.items():
        value = getattr(found, name)
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is int and value < 0):
            raise Invalid([Problem(str(path), name, f"not a {'whole number' if kind is int else 'text'}")])
    return found


_TYPES: dict[str, type] = {**{name: str for name in (*_SIGNED, "signature")}, "seq": int, "keyed_from": int}


def latest(folder: Path) -> Path | None:
    """The checkpoint with the highest seq in ``folder`` (the names sort by seq)."""
    found = sorted(folder.glob("checkpoint-*.json")) if folder.is_dir() else []
    return found[-1] if found else None


class Checkpointer:
    """Writes a checkpoint on its own every ``every`` entries or ``seconds`` seconds, after the
    entries are committed (a checkpoint of an entry that was then rolled back would accuse an
    honest log). A failure to write is logged and does not fail the decision already logged."""

    def __init__(self, key: Ed25519PrivateKey, folder: Path, *, every: int, seconds: float, registry_id: str) -> None:
        if every < 1 or seconds <= 0:
            raise RegistryError("checkpoints: every must be at least 1 entry and seconds more than 0")
        self.key, self.folder, self.every, self.seconds = key, folder, every, seconds
        self.registry_id = registry_id
        self.last_seq, self.last_time = 0, time.monotonic()
        self._lock = threading.Lock()  # a worker's threads (and a group commit's requests) share it

    def after_append(self, end: Anchor, now: datetime) -> None:
        with self._lock:
            crossed = end.seq // self.every > self.last_seq // self.every
            if end.seq <= self.last_seq or (not crossed and time.monotonic() - self.last_time < self.seconds):
                return
            self.last_seq, self.last_time = end.seq, time.monotonic()
        try:
            write(sign(self.key, registry_id=self.registry_id, end=end, now=now), self.folder)
        except OSError:
            log.exception("could not write an audit checkpoint to %s", self.folder)


@dataclass(frozen=True)
class ExportVerification:
    entries: int
    first: int | None
    anchored_at: int | None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return not self.problem


def verify_export(
    records: Iterable[dict[str, Any]], checkpoint: Checkpoint, public: Ed25519PublicKey
) -> ExportVerification:
    """Check an export (``authreg audit export``) against a checkpoint with the public key only:
    the checkpoint's signature, every entry's hash and link, and that the export contains the
    signed entry. Entries up to the checkpoint are then proven; later ones are only chained."""
    check(checkpoint, public)
    count, first, previous, anchored = 0, None, None, None
    for record in records:
        seq = record.get("seq")
        if "unreadable" in record or not isinstance(seq, int):
            return ExportVerification(count, first, anchored, f"entry {seq} is unreadable")
        fields = {key: value for key, value in record.items() if key not in ("entry_hash", "entry_mac")}
        if first is None:
            first = seq
            previous = GENESIS if seq == 1 else record.get("previous_hash")
        broken = link_problem(
            expected=first + count,
            previous=previous,
            seq=seq,
            previous_hash=record.get("previous_hash"),
            recomputed=hash_of(fields),
            stated=record.get("entry_hash"),
        )
        if broken:
            return ExportVerification(count, first, anchored, broken)
        if seq == checkpoint.seq:
            if record["entry_hash"] != checkpoint.head_hash:
                return ExportVerification(count, first, anchored, f"entry {seq} is not the entry the checkpoint signed")
            anchored = seq
        previous, count = record["entry_hash"], count + 1
    if anchored is None:
        return ExportVerification(
            count, first, None, f"the export does not contain entry {checkpoint.seq}, which the checkpoint signed"
        )
    return ExportVerification(count, first, anchored)


def checkpoint_now(engine: Engine, key: Ed25519PrivateKey, folder: Path, now: datetime) -> tuple[Checkpoint, Path]:
    """Sign the log's current end and keep it in ``folder`` (``authreg audit checkpoint`` and
    ``GET /api/v1/audit/checkpoint``)."""
    with reading(engine) as session:
        end = audit_log.head(session)
        registry_id = identity.registry_id(session)
    made = sign(key, registry_id=registry_id, end=end, now=now)
    return made, write(made, folder)


def verify_log(
    engine: Engine, *, secret: str, checkpoint: Path | None, public: Ed25519PublicKey | None
) -> Verification:
    """The whole check of the log as ``authreg audit verify`` and ``GET /audit/verify`` make it:
    every hash and MAC (under the key derived from ``secret``), and (given a checkpoint file) held
    against that checkpoint, which must be signed by ``public`` and be of this registry. Raises
    ``CheckpointInvalid`` or ``Invalid`` for a checkpoint that cannot be trusted."""
    found = read(checkpoint) if checkpoint is not None else None
    if found is not None:
        if public is None:
            raise CheckpointInvalid("a checkpoint needs a trusted public key to be checked with")
        check(found, public)
    with reading(engine) as session:
        if found is not None and found.registry_id != identity.registry_id(session):
            raise CheckpointInvalid(f"the checkpoint of entry {found.seq} is of another registry")
        anchor = found.anchor() if found is not None else None
        return audit_log.verify(session, key=identity.chain_key(secret), anchor=anchor)


def verify_server_log(engine: Engine, *, secret: str, folder: Path, signing_key_file: Path) -> dict[str, Any]:
    """The check an auditor asks of a running server (the API's ``/audit/verify``, the web
    pages' button): every hash and MAC, held against the newest checkpoint in the server's
    folder, signed by the server's key. A checkpoint that cannot be trusted is a broken log."""
    try:
        result = verify_log(
            engine, secret=secret, checkpoint=latest(folder), public=signing_key(signing_key_file).public_key()
        )
    except (CheckpointInvalid, Invalid) as error:
        log.error("audit verify: the newest checkpoint cannot be trusted: %s", error)
        problem = "the newest checkpoint of this server is unreadable, of another registry or not signed by it"
        return {"intact": False, "entries": 0, "broken_at": None, "problem": problem, "legacy": 0, "anchored_at": None}
    return {
        "intact": result.intact,
        "entries": result.entries,
        "broken_at": result.broken_at,
        "problem": result.problem,
        "legacy": result.legacy,
        "anchored_at": result.anchored_at,
    }
