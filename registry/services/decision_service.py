"""Deciding requests for every surface: build the request, decide, append to the audit log,
answer, in that order.

``DecisionService`` holds the policy engine of one process and refreshes it after a change:
only the authorisations that changed are recompiled, and the change and the refresh happen
under the engine's lock, so no decision sees the database changed but the policy not yet.

Fail closed: a decision is answered only once its audit entry is committed, with its MAC under
the chain key, into the registry this process loaded. Without a usable secret key, or when the
database is gone or is another registry, nothing is answered (``SecretUnusable`` /
``Unavailable`` / a database error: 503 over HTTP).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from authreg.domain.decisions import decide
from authreg.domain.errors import Invalid, Problem
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import DecisionRequest, request_from
from authreg.domain.subjects import SecretUnusable
from authreg.services.audit_writer import AuditWriter
from authreg.services.checkpoints import Checkpointer
from authreg.storage import identity, registry_rows
from authreg.storage.audit_log import Logged
from authreg.storage.sessions import reading
from authreg.storage.snapshot_loader import load_authorisations, load_snapshot


@dataclass
class DecisionService:
    db: Engine
    policy: PolicyEngine
    timezone: str
    registry_id: str
    secret: str | None = None
    language: str = "en"
    checkpointer: Checkpointer | None = None
    writer: AuditWriter | None = None  # None without a usable secret key: nothing is answered

    def __post_init__(self) -> None:
        if self.secret is not None and self.writer is None:
            self.writer = AuditWriter(self.db, self.registry_id, identity.chain_key(self.secret))

    @classmethod
    def load(cls, db: Engine, *, timezone: str, secret: str | None, language: str = "en") -> DecisionService:
        """The registry as it is now; a secret key other than the registry's is refused here."""
        if secret is not None:
            identity.check_key(db, secret)
        with reading(db) as session:
            snapshot = load_snapshot(session)
            registry_id = identity.registry_id(session)
        return cls(db, PolicyEngine(snapshot), timezone, registry_id, secret, language)

    def refresh(self, ids: Iterable[str] | None) -> bool:
        """Recompile the given authorisations (everything for ``None``: organisations or the
        taxonomy changed) together with whatever the change log says changed since this
        policy's version, by this process or any other; returns whether the log moved on.

        The policy's new version is the newest change read *before* the authorisations are
        loaded, in the same session. Setting it from a later read (or from the log's newest
        entry after reloading only one's own change) would skip another process's change
        committed in between, and the policy would go on allowing what it revoked."""
        with self.policy.lock, reading(self.db) as session:
            current = self.policy.snapshot.version
            latest, changed = registry_rows.changes_since(session, current)
            wanted = None if ids is None or changed is None else sorted({*ids, *changed})
            if wanted is None:
                self.policy.reload(load_snapshot(session))
            elif wanted or latest != current:
                self.policy.replace(load_authorisations(session, wanted), wanted, latest)
            return latest != current

    def sync(self) -> bool:
        """Catch up with changes other processes made: recompile what they touched (everything
        when one was registry-wide). Returns whether anything changed."""
        return self.refresh([])

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Hold decisions back while a write commits, then catch up from the change log before
        letting them go: the write recorded what it touched (the authorisations a new version
        replaces too, or the whole registry), so one way of refreshing serves every surface."""
        with self.policy.lock:
            yield
            self.sync()

    def ask(
        self, asked: dict[str, Any], *, asked_by: str, now: datetime, language: str | None = None
    ) -> dict[str, Any]:
        """Decide one request, given as the fields ``RequestSchema`` loaded: the one entry for
        every surface (the API, ``authreg check``, decision tables). Logged before answered."""
        return self.answer([self._request(asked, now)], asked_by=asked_by, now=now, language=language)[0]

    def ask_many(
        self,
        asked: list[dict[str, Any]],
        *,
        asked_by: str,
        now: datetime,
        stop_on: str | None = None,
        language: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every request is built first (any malformed one rejects the batch, its problems
        named ``requests[i].field``), then they are decided in order, up to and including the
        first whose verdict is ``stop_on`` (all of them without it), and those decided are
        logged in one transaction."""
        requests: list[DecisionRequest] = []
        problems: list[Problem] = []
        for index, fields in enumerate(asked):
            try:
                requests.append(self._request(fields, now))
            except Invalid as exc:
                problems.extend(
                    Problem("", f"requests[{index}]" + (f".{p.path}" if p.path else ""), p.message)
                    for p in exc.problems
                )
        if problems:
            raise Invalid(problems)
        return self.answer(requests, asked_by=asked_by, now=now, language=language, stop_on=stop_on)

    def _request(self, asked: dict[str, Any], now: datetime) -> DecisionRequest:
        return request_from(asked, now=now, timezone=self.timezone, secret=self.secret)

    def answer(
        self,
        requests: list[DecisionRequest],
        *,
        asked_by: str,
        now: datetime,
        language: str | None = None,
        stop_on: str | None = None,
    ) -> list[dict[str, Any]]:
        """Decide, log every decision in one transaction (shared with the requests of this
        process that arrive meanwhile: ``AuditWriter``), and only then answer."""
        if self.writer is None:
            raise SecretUnusable("no usable secret key: decisions cannot be logged with the chain key")
        logged = []
        for request in requests:
            decision = decide(self.policy, request, language or self.language)
            logged.append(Logged(request, decision, str(uuid.uuid4()), asked_by, now))
            if decision.decision == stop_on:
                break
        end = self.writer.write(logged)  # returns once committed, with other requests' entries
        if self.checkpointer is not None and logged:
            self.checkpointer.after_append(end, now)
        return [entry.decision.as_dict(entry.decision_id) for entry in logged]
