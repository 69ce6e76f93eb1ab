"""Bearer tokens for the HTTP API: made here, shown once, stored as a hash, revocable.

A token is 32 random bytes (URL-safe text); its SHA-256 identifies it, so a stolen database
gives no usable token. Roles are fixed (DESIGN §5); what each may call is ``policies/roles.csv``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from authreg.domain.document_format import MAX_ID_LENGTH, check_texts
from authreg.domain.errors import Conflict, Invalid, NotFound, Problem
from authreg.storage import token_rows
from authreg.storage.sessions import reading, transaction

ROLES = ("privacy-officer", "application", "manager", "auditor")


@dataclass(frozen=True)
class Caller:
    """Who is asking over HTTP: the token's name (recorded in the audit log) and its role."""

    name: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(engine: Engine, *, name: str, role: str, now: datetime) -> str:
    """A new token for ``name``; returns the token itself, which is not kept."""
    if role not in ROLES:
        raise Invalid([Problem("", "role", f"must be one of {', '.join(ROLES)}")])
    if not name.strip():
        raise Invalid([Problem("", "name", "required")])
    check_texts(("name", name, MAX_ID_LENGTH))  # it names the caller in every audit entry
    token = secrets.token_urlsafe(32)
    with transaction(engine) as session:
        if token_rows.by_name(session, name) is not None:
            raise Conflict(f"a token named {name!r} exists already")
        token_rows.add(session, name=name, role=role, token_hash=token_hash(token), now=now)
    return token


def revoke(engine: Engine, *, name: str, now: datetime) -> None:
    with transaction(engine) as session:
        token = token_rows.by_name(session, name)
        if token is None:
            raise NotFound(f"no token named {name!r}")
        if token.revoked_at is None:
            token.revoked_at = now
            session.add(token)


def listing(engine: Engine) -> list[dict[str, str | None]]:
    with reading(engine) as session:
        return [
            {
                "name": t.name,
                "role": t.role,
                "created_at": t.created_at.isoformat(),
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in token_rows.all_tokens(session)
        ]


def authenticate(engine: Engine, token: str) -> Caller | None:
    """The caller a presented token belongs to, or None when it is unknown or revoked."""
    with reading(engine) as session:
        found = token_rows.by_hash(session, token_hash(token))
    if found is None or found.revoked_at is not None:
        return None
    return Caller(found.name, found.role)
