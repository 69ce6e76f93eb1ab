"""Bearer tokens for the HTTP API: made here, shown once, stored as a hash, revocable.

A token is 32 random bytes (URL-safe text); its SHA-256 identifies it, so a stolen database
gives no usable token. Roles are fixed (DESIGN §5); what each may call is ``policies/roles.csv``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
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


class TokenCache:
    """The tokens this process has seen, with their caller, each trusted for ``ttl`` seconds
    from just before it was read: a decision pays no database read for its caller, and a
    revocation (made by ``authreg token revoke``, another process) takes effect here at most
    ``ttl`` seconds later; the server sets ``ttl`` to ``AUTHREG_SYNC_SECONDS``, the bound it
    keeps for every change another process makes. Unknown and revoked tokens are never kept:
    they are looked up every time, so a revoked token cannot linger and a guesser gains nothing.
    At most ``size`` tokens are kept, the least recently used dropped first."""

    def __init__(
        self, engine: Engine, *, ttl: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine, self.ttl, self.size, self.clock = engine, ttl, size, clock
        self._known: OrderedDict[str, tuple[Caller, float]] = OrderedDict()
        self._lock = threading.Lock()

    def caller(self, token: str) -> Caller | None:
        hashed, now = token_hash(token), self.clock()
        with self._lock:
            found = self._known.get(hashed)
            if found is not None and now - found[1] < self.ttl:
                self._known.move_to_end(hashed)
                return found[0]
        caller = authenticate(self.engine, token)
        with self._lock:
            if caller is None:
                self._known.pop(hashed, None)
            else:
                self._known[hashed] = (caller, now)
                self._known.move_to_end(hashed)
                while len(self._known) > self.size:
                    self._known.popitem(last=False)
        return caller
