"""Group commit of the audit log: the decisions of concurrent requests of one process are
logged in one transaction, and each request is answered only once the transaction holding its
entries has committed.

A commit costs a disk flush (SQLite) or a round trip and a WAL flush (PostgreSQL) whatever it
holds; one per decision bounds a server by its disk. Here the first request to arrive writes
(the leader): it takes every entry waiting, its own and those of requests that came while the
previous transaction committed, and commits them together; the others wait. If the
transaction fails, every request in it gets the error (503 over HTTP), none an answer: the
guarantee that no decision is answered before its entry is durable stays whole.

The writer writes through ``plain_engine`` (on PostgreSQL an engine of its own, without the
pool's ping): a transaction that failed before its commit was sent is run once more on a new
connection, so that a database that restarted costs no answer.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, event

from authreg.domain.errors import Unavailable
from authreg.storage import audit_log, identity
from authreg.storage.audit_log import Anchor, Logged
from authreg.storage.plain_writes import Retryable, plain_engine, plain_transaction
from authreg.storage.sessions import reading


@dataclass
class _Ticket:
    logged: Sequence[Logged]
    done: bool = False
    error: BaseException | None = None
    end: Anchor | None = None


@dataclass
class AuditWriter:
    """One per process: ``write`` returns where the chain ends once the entries are committed."""

    db: Engine
    registry_id: str
    key: bytes  # the chain key, which MACs every entry
    _pending: list[_Ticket] = field(default_factory=list)
    _writing: bool = False
    _turn: threading.Condition = field(default_factory=threading.Condition)
    _plain: Engine | None = None  # made at the first write: most writers of the tests never write

    def close(self) -> None:
        """Close the writer's own connection, if it has one (the next write opens it again);
        after the write under way, whose connection would otherwise go back to a pool already
        closed, and stay open."""
        with self._turn:
            while self._writing:
                self._turn.wait()
            if self._plain is not None and self._plain is not self.db:
                self._plain.dispose()

    def write(self, logged: Sequence[Logged]) -> Anchor:
        ticket = _Ticket(logged)
        with self._turn:
            self._pending.append(ticket)
            while self._writing and not ticket.done:
                self._turn.wait()
            if ticket.done:  # another request's transaction held it
                return self._outcome(ticket)
            self._writing = True
            batch, self._pending = self._pending, []
        try:
            end = self._commit(batch)
            error = None
        except BaseException as failed:  # every waiting request learns it, then it goes on up
            end, error = None, failed
        with self._turn:
            for waiting in batch:
                waiting.done, waiting.error, waiting.end = True, error, end
            self._writing = False
            self._turn.notify_all()
        return self._outcome(ticket)

    def _commit(self, batch: list[_Ticket]) -> Anchor:
        logged = [entry for ticket in batch for entry in ticket.logged]
        try:
            end = self._append(logged)
        except Retryable:  # nothing was committed: once more, on a new connection
            end = self._append(logged)
        if end is None:  # not this registry any more: say which it is, or that it has no head
            with reading(self.db) as session:
                identity.expect_registry(session, self.registry_id)
            raise Unavailable("the database holds no audit log head: is it migrated (authreg init)?")
        return end

    def _append(self, logged: list[Logged]) -> Anchor | None:
        if self._plain is None:
            self._plain = plain_engine(self.db)
            if self._plain is not self.db:  # its connection closes with the registry's engine or this writer
                event.listen(self.db, "engine_disposed", _closer(weakref.ref(self)))
                weakref.finalize(self, self._plain.dispose)
        with plain_transaction(self._plain) as write:
            return audit_log.append(write, logged, key=self.key, registry_id=self.registry_id)

    @staticmethod
    def _outcome(ticket: _Ticket) -> Anchor:
        if ticket.error is not None:
            raise ticket.error
        assert ticket.end is not None
        return ticket.end


def _closer(writer: weakref.ref[AuditWriter]) -> Callable[[Engine], None]:
    def close(_engine: Engine) -> None:
        found = writer()
        if found is not None:
            found.close()

    return close
