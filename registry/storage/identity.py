"""Which registry a database is, and which secret key it is used with.

A process remembers the registry id it loaded and checks it before it logs a decision: a
database replaced under a running server (another file, another registry, an empty one) is
then an outage (503), not a place to write answers to. The secret key hashes data subjects
and keys the audit chain, so running with another key would silently turn allows into denies
and make every new entry unverifiable: the first process that uses a key records its
fingerprint, and every later one with another key refuses to run.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import Engine
from sqlmodel import Session

from authreg.domain.errors import Unavailable
from authreg.domain.subjects import SecretUnusable
from authreg.storage import audit_log
from authreg.storage.models import AuditHead, RegistryIdentity
from authreg.storage.sessions import reading, transaction


class KeyMismatch(SecretUnusable):
    """The secret key is not the one this registry has been used with."""


def derived_key(secret: str, purpose: str) -> bytes:
    """One key per use, derived from the secret, so a MAC of one kind never stands for another."""
    return hmac.new(secret.encode(), f"authreg/{purpose}/v1".encode(), hashlib.sha256).digest()


def chain_key(secret: str) -> bytes:
    """The key of the audit chain's MACs."""
    return derived_key(secret, "audit-chain")


def fingerprint(secret: str) -> str:
    """Safe to store: tells keys apart without revealing them."""
    return derived_key(secret, "key-fingerprint").hex()


def registry_id(session: Session) -> str:
    return _identity(session).registry_id


def expect_registry(session: Session, expected: str) -> None:
    """Raise ``Unavailable`` unless the database is still the registry this process loaded.
    The audit log's append checks that in its head update; this names what went wrong when it
    did not hold (another registry, or none)."""
    expect_same(registry_id(session), expected)


def expect_same(found: str, expected: str) -> None:
    """Raise ``Unavailable`` unless ``found`` (a registry id just read) is the one ``expected``."""
    if found != expected:
        raise Unavailable(
            f"the database is another registry ({found}) than the one this process loaded ({expected}); "
            "restart the server once the right database is back"
        )


def recorded_fingerprint(engine: Engine) -> str | None:
    """The fingerprint of the key this registry is used with; None before its first use."""
    with reading(engine) as session:
        return _identity(session).key_fingerprint


def check_key(engine: Engine, secret: str) -> None:
    """Record the key's fingerprint on first use; refuse another key afterwards. Every command
    and server start checks, so the check reads; only the first use writes."""
    with reading(engine) as session:
        if _identity(session).key_fingerprint is not None:
            expect_key(session, secret)
            return
    with transaction(engine) as session:
        row = _identity(session)
        if row.key_fingerprint is None:
            row.key_fingerprint = fingerprint(secret)
            session.add(row)
            _seal_head(session, chain_key(secret))
        else:
            expect_key(session, secret)


def expect_key(session: Session, secret: str) -> None:
    """Raise ``KeyMismatch`` unless ``secret`` is the key this registry is used with."""
    recorded, mine = _identity(session).key_fingerprint, fingerprint(secret)
    if recorded is not None and recorded != mine:
        raise KeyMismatch(
            "the secret key (AUTHREG_SECRET_KEY or the key file) is not the one this registry is used with "
            f"(its fingerprint starts {recorded[:12]}, this key's {mine[:12]}): with another key "
            "data subjects hash differently and the audit log cannot be verified; restore the original key"
        )


def _identity(session: Session) -> RegistryIdentity:
    row = session.get(RegistryIdentity, 1)
    if row is None:
        raise Unavailable("the database holds no registry identity: is it migrated (authreg init)?")
    return row


def _seal_head(session: Session, key: bytes) -> None:
    """The head gets its MAC with the key's first use, so that from then on ``verify`` demands
    one: without it, moving ``keyed_from`` past the end would declare every entry unkeyed."""
    head = session.get(AuditHead, 1)
    if head is not None and head.head_mac is None:
        head.head_mac = audit_log.head_mac(key, head)
        session.add(head)
