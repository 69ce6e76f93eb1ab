"""Engines and transactions: the only place that knows which database is behind the URL.

Two promises hold on both databases:

- **A write is one atomic step.** On SQLite every transaction begins with ``BEGIN IMMEDIATE``:
  the write lock is taken before the first read, so a check ("is it still version 20?") and the
  write that depends on it cannot interleave with another writer's. On PostgreSQL a write locks
  the rows of the authorisations it checks first (``store.lock_authorisations``), and unique keys
  (a version number, a fulfilment's correction, an id) stop the second of two racing writers:
  it gets ``Conflict``, never a silent overwrite.
- **Database errors say what they are.** A clash with a concurrent write (unique or foreign key,
  a serialisation failure) is ``Conflict``; a value the database refuses is ``Invalid``; only
  what cannot be reached stays a ``SQLAlchemyError``, which the edges answer with 503.

A SQLite file is opened read-write but never created, except by migrations: a file deleted under
a running server makes its next transaction fail (503) instead of writing into a new empty file
or into the deleted one still held open. Each pooled connection remembers which file (device and
inode) it opened and is dropped when the path names another file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlmodel import Session

from authreg.domain.errors import Conflict, Invalid, Problem, Unavailable
from authreg.storage.write_queue import WriteQueue

SQLITE_BUSY_MS = 10_000
_QUEUES: dict[str, WriteQueue] = {}  # the writers' queue of each SQLite file, shared by a process's engines


def make_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, WAL for several readers, a busy timeout
    so that gunicorn workers wait for each other instead of failing, and ``BEGIN IMMEDIATE``.
    ``create`` (migrations only) may make a missing SQLite file and keeps the driver's own
    transaction handling, which the migrations' ``PRAGMA foreign_keys=OFF`` relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    path = parsed.database
    if not path or path == ":memory:":
        return create_engine(url, connect_args={"check_same_thread": False})
    if create:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    uri = parsed.set(database=f"file:{quote(os.path.abspath(path))}", query={"mode": "rw", "uri": "true"})
    engine = create_engine(uri, connect_args={"check_same_thread": False})
    key = str(engine.url.database)
    if key not in _QUEUES:
        _QUEUES[key] = WriteQueue(os.path.abspath(path), SQLITE_BUSY_MS)
    event.listen(engine, "engine_disposed", lambda _engine: _QUEUES[key].close())
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "connect", _own_transactions(path))
    event.listen(engine, "checkout", _same_file(path))
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def _file_identity(path: str) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_dev, found.st_ino


def _own_transactions(path: str) -> Any:
    def on_connect(connection: Any, record: Any) -> None:
        connection.isolation_level = None  # the driver begins nothing; _begin_immediate does
        record.info["file"] = _file_identity(path)

    return on_connect


def _same_file(path: str) -> Any:
    def on_checkout(_connection: Any, record: Any, _proxy: Any) -> None:
        try:
            current = _file_identity(path)
        except OSError:
            current = None
        if current != record.info.get("file"):
            # the pool drops this connection and opens the path anew (which fails if it is gone)
            raise exc.DisconnectionError(f"{path} is no longer the file this connection opened")

    return on_checkout


def _begin_immediate(connection: Any) -> None:
    reading = connection.get_execution_options().get("authreg_reading", False)
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One write is one transaction: committed when the block ends, rolled back on any error.
    Database errors that are not outages become ``Conflict`` or ``Invalid`` (see above)."""
    with write_turn(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except exc.IntegrityError as error:
            session.rollback()
            raise Conflict("the change clashes with one made at the same time; read again and retry") from error
        except exc.DataError as error:
            session.rollback()
            raise Invalid([Problem("", "", "the database refused a value (too long or not allowed)")]) from error
        except exc.OperationalError as error:
            session.rollback()
            if _concurrent(error):
                raise Conflict("the change clashed with one made at the same time; retry") from error
            raise
        except BaseException:
            session.rollback()
            raise


def write_turn(engine: Engine) -> AbstractContextManager[None]:
    """A write to a SQLite file waits for its turn in the file's queue (``write_queue``); a
    reading transaction, or PostgreSQL, does not queue."""
    queue = _QUEUES.get(str(engine.url.database))
    if queue is None or engine.get_execution_options().get("authreg_reading", False):
        return nullcontext()
    return queue.turn()


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A transaction that only reads (loading the registry, reports): on SQLite it does not take
    the write lock, so a long read does not hold back the writers (decisions log by writing).
    Every statement of it sees one snapshot: SQLite's read transaction does, PostgreSQL's
    default (READ COMMITTED) does not, so there it runs REPEATABLE READ; otherwise loading an
    authorisation in several queries could mix the rows of two versions into a policy that
    neither grants (a read-only transaction never fails to serialise)."""
    options: dict[str, Any] = {"authreg_reading": True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with transaction(engine.execution_options(**options)) as session:
        yield session


def _concurrent(error: exc.OperationalError) -> bool:
    """PostgreSQL's class 40 (serialisation failure, deadlock): two writers met, nothing is down."""
    return str(getattr(error.orig, "sqlstate", "") or "").startswith("40")


def probe_write(engine: Engine, *, timeout_ms: int = 1000) -> str:
    """Could a decision be logged right now? Begins a write transaction (SQLite: the write lock;
    PostgreSQL: the audit head's row lock), waiting at most ``timeout_ms``, reads the registry id
    and rolls back. Returns the registry id; raises ``Unavailable`` when the lock cannot be had
    or the database is not a registry, a ``SQLAlchemyError`` when it cannot be reached."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:  # connection errors come out as SQLAlchemy's
        raw = connection.connection  # the driver's own: no BEGIN IMMEDIATE with the long wait
        cursor = raw.cursor()
        try:
            if sqlite:
                cursor.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
                cursor.execute("BEGIN IMMEDIATE")
            else:
                cursor.execute(f"SET lock_timeout = {int(timeout_ms)}")
                cursor.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
            cursor.execute("SELECT registry_id FROM registry_identity WHERE id = 1")
            row = cursor.fetchone()
        except engine.dialect.loaded_dbapi.Error as error:
            raise Unavailable(f"a decision could not be logged now: {error}") from error
        finally:
            raw.rollback()
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}" if sqlite else "RESET lock_timeout")
            cursor.close()
    if row is None:
        raise Unavailable("the database holds no registry identity")
    return str(row[0])
